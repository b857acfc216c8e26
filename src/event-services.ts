import { z } from 'zod';

import {
  createAppIdentityCredential,
  KeyVaultSecretStore,
} from './adapters/keyvault/key-vault-secret-store.js';
import { sendSigned } from './adapters/webhooks/signed-webhook.js';
import { type AppServices, appServices } from './app-services.js';
import type { Logger } from './ports/logger.js';
import type { EventDeliveryDeps } from './usecases/deliver-events.js';

/** The event feed's settings (app settings, validated once). */
export const eventSettingsSchema = z.object({
  /** How far behind now the feed is read (see src/usecases/read-events.ts). */
  SYNC_EVENTS_SETTLE_MS: z.coerce.number().int().min(0).max(60_000).default(2_000),
  /** The app webhook's back-off base (attempt n waits about base × 2^(n−1)). */
  SYNC_EVENTS_RETRY_BASE_MS: z.coerce.number().int().min(10).max(60_000).default(1_000),
  /** How long the feed keeps an event. */
  SYNC_EVENTS_RETENTION_DAYS: z.coerce.number().int().min(1).max(365).default(30),
});
export type EventSettings = z.infer<typeof eventSettingsSchema>;

export function readEventSettings(env: NodeJS.ProcessEnv = process.env): EventSettings {
  const parsed = eventSettingsSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid app settings: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/**
 * The composition root of the app's event feed, beside the pipeline's (src/app-services.ts): the
 * feed's settings, the signed-webhook sender and Key Vault (the webhook's signing secret).
 */
export class EventServices {
  readonly settings: EventSettings;
  readonly #secrets: KeyVaultSecretStore | undefined;

  constructor(
    readonly app: AppServices,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.settings = readEventSettings(env);
    this.#secrets = app.settings.KEY_VAULT_URI
      ? new KeyVaultSecretStore(app.settings.KEY_VAULT_URI, createAppIdentityCredential(env))
      : undefined;
  }

  deliveryDeps(log: Logger): EventDeliveryDeps {
    const pipeline = this.app.deps();
    return {
      tables: pipeline.tables,
      buckets: pipeline.buckets,
      secrets: this.#secrets,
      send: sendSigned,
      now: () => new Date(),
      settleMs: this.settings.SYNC_EVENTS_SETTLE_MS,
      retryBaseMs: this.settings.SYNC_EVENTS_RETRY_BASE_MS,
      log,
    };
  }
}

let services: EventServices | undefined;

export function eventServices(): EventServices {
  services ??= new EventServices(appServices());
  return services;
}
