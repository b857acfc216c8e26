import type { TokenCredential } from '@azure/identity';

import { APP_IDENTITY_CLIENT_ID_SETTING, createGraphCredential } from './adapters/graph/graph-credential.js';
import { GraphSubscriptionClient } from './adapters/graph/graph-subscriptions.js';
import { KeyVaultClientStates } from './adapters/keyvault/key-vault-client-states.js';
import {
  createAppIdentityCredential,
  KeyVaultSecretStore,
} from './adapters/keyvault/key-vault-secret-store.js';
import { NotificationRequestMarks } from './adapters/storage/notification-requests.js';
import { SubscriptionStore } from './adapters/storage/subscription-store.js';
import { type AppServices, appServices } from './app-services.js';
import { resolveCloud } from './domain/cloud.js';
import type { ConnectionSettings } from './domain/connection-settings.js';
import type { ClientStateVault, GraphSubscriptions } from './ports/graph-subscriptions.js';
import { PermanentError } from './shared/errors.js';
import type { NotificationDeps } from './usecases/notification-deps.js';

/**
 * The composition root of change notifications, beside the pipeline's (src/app-services.ts): Graph
 * `/subscriptions` with each connection's credential, clientStates in Key Vault, the subscriptions
 * table and the pending-request marks.
 */
export class NotificationServices {
  readonly #vault: ClientStateVault | undefined;
  readonly #secrets: KeyVaultSecretStore | undefined;
  readonly #appIdentityClientId: string | undefined;
  readonly #credentials = new Map<string, TokenCredential>();

  constructor(
    readonly app: AppServices,
    identityEnv: NodeJS.ProcessEnv = process.env,
  ) {
    const { settings } = app;
    if (settings.KEY_VAULT_URI) {
      const identity = createAppIdentityCredential(identityEnv);
      this.#vault = new KeyVaultClientStates(settings.KEY_VAULT_URI, identity);
      this.#secrets = new KeyVaultSecretStore(settings.KEY_VAULT_URI, identity);
    }
    this.#appIdentityClientId = identityEnv[APP_IDENTITY_CLIENT_ID_SETTING];
  }

  deps(): NotificationDeps {
    const pipeline = this.app.deps();
    const { settings } = this.app;
    const notificationUrl = settings.SYNC_NOTIFICATION_URL;
    return {
      pipeline,
      subscriptions: new SubscriptionStore(pipeline.tables),
      marks: new NotificationRequestMarks(pipeline.tables),
      vault: this.#vault ?? missingVault(),
      graphFor: (connection) => this.#graph(connection),
      settings: {
        notificationUrl,
        lifecycleNotificationUrl: notificationUrl
          ? `${notificationUrl.replace(/\/+$/, '')}/lifecycle`
          : undefined,
        lifetimeMinutes: settings.SYNC_SUBSCRIPTION_MINUTES,
        debounceMs: settings.SYNC_NOTIFICATION_DEBOUNCE_MS,
      },
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    };
  }

  async #graph(connection: ConnectionSettings): Promise<GraphSubscriptions> {
    let credential = this.#credentials.get(connection.tenantId);
    if (!credential) {
      credential = await createGraphCredential(connection, {
        appIdentityClientId: this.#appIdentityClientId,
        secrets: this.#secrets,
      });
      this.#credentials.set(connection.tenantId, credential);
    }
    return new GraphSubscriptionClient({
      cloud: resolveCloud(connection.cloud),
      credential,
      maxRetries: this.app.settings.GRAPH_MAX_RETRIES,
    });
  }
}

function missingVault(): ClientStateVault {
  const refuse = (): Promise<never> =>
    Promise.reject(
      new PermanentError(
        'KEY_VAULT_URI is not set: subscription clientStates cannot be kept',
        'permission-denied',
      ),
    );
  return { put: refuse, get: refuse, remove: refuse };
}

let services: NotificationServices | undefined;

/** The process's notification services, on the process's pipeline services. */
export function notificationServices(): NotificationServices {
  services ??= new NotificationServices(appServices());
  return services;
}
