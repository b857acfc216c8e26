import {
  createAppIdentityCredential,
  KeyVaultSecretStore,
} from './adapters/keyvault/key-vault-secret-store.js';
import { sendSigned } from './adapters/webhooks/signed-webhook.js';
import { type AppServices, appServices } from './app-services.js';
import type { AppSettings } from './config/app-settings.js';
import type { Logger } from './ports/logger.js';
import type { EventDeliveryDeps } from './usecases/deliver-events.js';

/** The event feed's settings (read with the other app settings: src/config/app-settings.ts). */
export type EventSettings = Pick<
  AppSettings,
  'SYNC_EVENTS_SETTLE_MS' | 'SYNC_EVENTS_RETRY_BASE_MS' | 'SYNC_EVENTS_RETENTION_DAYS'
>;

/**
 * The composition root of the app's event feed, beside the pipeline's (src/app-services.ts): the
 * feed's settings, the signed-webhook sender and Key Vault (the webhook's signing secret).
 */
export class EventServices {
  readonly settings: EventSettings;
  readonly #secrets: KeyVaultSecretStore | undefined;

  constructor(
    readonly app: AppServices,
    identityEnv: NodeJS.ProcessEnv = process.env,
  ) {
    this.settings = app.settings;
    this.#secrets = app.settings.KEY_VAULT_URI
      ? new KeyVaultSecretStore(app.settings.KEY_VAULT_URI, createAppIdentityCredential(identityEnv))
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
