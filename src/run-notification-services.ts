import type { TokenCredential } from '@azure/identity';

import { APP_IDENTITY_CLIENT_ID_SETTING, createGraphCredential } from './adapters/graph/graph-credential.js';
import { GraphMailer } from './adapters/graph/graph-mail.js';
import {
  createAppIdentityCredential,
  KeyVaultSecretStore,
} from './adapters/keyvault/key-vault-secret-store.js';
import { sendSigned } from './adapters/webhooks/signed-webhook.js';
import { type AppServices, appServices } from './app-services.js';
import { resolveCloud } from './domain/cloud.js';
import type { ConnectionSettings } from './domain/connection-settings.js';
import type { RunWebhookSender } from './ports/run-notification-senders.js';
import type { SecretStore } from './ports/secret-store.js';
import { PermanentError, TransientError } from './shared/errors.js';
import {
  DEFAULT_RUN_NOTIFICATION_RETRY,
  type RunNotificationDeps,
  type RunNotificationRetry,
} from './usecases/run-notification-deps.js';

/** The CLI (package.json `bin`, src/cli/main.ts), for the mail's "from a script" line. */
export const CLI_COMMAND = 'entra-sync';

/**
 * The composition root of run notifications, beside the pipeline's (src/app-services.ts): Graph
 * `sendMail` on each connection's credential, the signed-webhook sender, Key Vault for the signing
 * secrets, and the app's public URL for the approval link.
 */
export class RunNotificationServices {
  readonly #secrets: KeyVaultSecretStore | undefined;
  readonly #appIdentityClientId: string | undefined;
  readonly #credentials = new Map<string, TokenCredential>();
  readonly #publicBaseUrl: string | undefined;

  constructor(
    readonly app: AppServices,
    identityEnv: NodeJS.ProcessEnv = process.env,
    readonly retry: RunNotificationRetry = DEFAULT_RUN_NOTIFICATION_RETRY,
  ) {
    const { settings } = app;
    this.#secrets = settings.KEY_VAULT_URI
      ? new KeyVaultSecretStore(settings.KEY_VAULT_URI, createAppIdentityCredential(identityEnv))
      : undefined;
    this.#appIdentityClientId = identityEnv[APP_IDENTITY_CLIENT_ID_SETTING];
    this.#publicBaseUrl = publicBaseUrlOf(settings);
  }

  deps(): RunNotificationDeps {
    return {
      pipeline: this.app.deps(),
      mailerFor: (connection) => this.#mailer(connection),
      webhooks: signedWebhookSender,
      secrets: this.#secrets ?? missingVault,
      links: { publicBaseUrl: this.#publicBaseUrl, cli: CLI_COMMAND },
      retry: this.retry,
    };
  }

  async #mailer(connection: ConnectionSettings): Promise<GraphMailer> {
    let credential = this.#credentials.get(connection.tenantId);
    if (!credential) {
      credential = await createGraphCredential(connection, {
        appIdentityClientId: this.#appIdentityClientId,
        secrets: this.#secrets,
      });
      this.#credentials.set(connection.tenantId, credential);
    }
    return new GraphMailer({
      cloud: resolveCloud(connection.cloud),
      credential,
      maxRetries: this.app.settings.GRAPH_MAX_RETRIES,
    });
  }
}

/**
 * The app's public origin, for links: `SYNC_PUBLIC_BASE_URL` (infra sets it to the app's host name);
 * else the origin of the Graph webhook's public URL; else none (links are then paths).
 */
export function publicBaseUrlOf(settings: {
  readonly SYNC_PUBLIC_BASE_URL?: string | undefined;
  readonly SYNC_NOTIFICATION_URL?: string | undefined;
}): string | undefined {
  if (settings.SYNC_PUBLIC_BASE_URL) return settings.SYNC_PUBLIC_BASE_URL.replace(/\/+$/, '');
  if (settings.SYNC_NOTIFICATION_URL) return new URL(settings.SYNC_NOTIFICATION_URL).origin;
  return undefined;
}

/** sendSigned, whose failed attempts become transient errors (Standard Webhooks retries any non-2xx). */
const signedWebhookSender: RunWebhookSender = {
  async send(url, secret, payload, delivery) {
    const result = await sendSigned(url, secret, payload, delivery);
    if (!result.delivered) throw new TransientError(`webhook ${url}: ${result.reason}`);
  },
};

const missingVault: SecretStore = {
  getSecret: (name) =>
    Promise.reject(
      new PermanentError(
        `KEY_VAULT_URI is not set: the webhook's signing secret ${name} cannot be read`,
        'permission-denied',
      ),
    ),
};

let services: RunNotificationServices | undefined;

/** The process's run-notification services, on the process's pipeline services. */
export function runNotificationServices(): RunNotificationServices {
  services ??= new RunNotificationServices(appServices());
  return services;
}
