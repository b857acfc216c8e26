import { randomBytes } from 'node:crypto';

import { JwsConsentStateSigner, KeyVaultConsentKeys } from './adapters/consent/consent-state-signer.js';
import { GraphConsentTenantProbe } from './adapters/graph/consent-tenant-probe.js';
import {
  createAppIdentityCredential,
  KeyVaultSecretStore,
} from './adapters/keyvault/key-vault-secret-store.js';
import { ConsentNonceStore } from './adapters/storage/consent-nonce-store.js';
import { storageAccountFromSettings } from './adapters/storage/storage-account.js';
import { TenantPurge } from './adapters/storage/tenant-purge.js';
import type { AppSettings } from './config/app-settings.js';
import { CLOUD_PRESETS, type CloudPreset, type CloudSetting } from './domain/cloud.js';
import { type NotificationServices, notificationServices } from './notification-services.js';
import type { ConsentStateSigner, TenantProbe } from './ports/consent.js';
import type { DirectorySource } from './ports/directory-source.js';
import { PermanentError } from './shared/errors.js';
import type { ConsentDeps, MultiTenantApp } from './usecases/connect-by-consent.js';
import type { TenantDataPurge } from './usecases/disconnect-tenant.js';
import { recordPermissionCheck } from './usecases/record-permissions.js';

/**
 * The composition root of connecting and disconnecting tenants, beside the notification services it
 * builds on: the consent state's signer (its HMAC key in Key Vault), the used nonces' table, the
 * tenant probe (the multi-tenant app registration's certificate from Key Vault), the tenant purge.
 */
export class ConnectServices {
  readonly #app: MultiTenantApp | undefined;
  readonly #signer: ConsentStateSigner;
  readonly #probe: TenantProbe | undefined;

  constructor(
    readonly notifications: NotificationServices,
    identityEnv: NodeJS.ProcessEnv = process.env,
  ) {
    const { settings } = notifications.app;
    this.#app = multiTenantAppOf(settings);
    const identity = settings.KEY_VAULT_URI ? createAppIdentityCredential(identityEnv) : undefined;
    this.#signer =
      settings.KEY_VAULT_URI && identity
        ? new JwsConsentStateSigner(
            new KeyVaultConsentKeys(settings.KEY_VAULT_URI, identity, settings.SYNC_CONSENT_STATE_KEY_NAME),
          )
        : missingVault();
    this.#probe =
      this.#app && settings.KEY_VAULT_URI && identity
        ? new GraphConsentTenantProbe({
            ...this.#app,
            secrets: new KeyVaultSecretStore(settings.KEY_VAULT_URI, identity),
          })
        : undefined;
  }

  consentDeps(): ConsentDeps {
    const notifications = this.notifications.deps();
    return {
      notifications,
      app: this.#app,
      signer: this.#signer,
      nonces: new ConsentNonceStore(notifications.pipeline.tables),
      probe: this.#probe,
      stateLifetimeSeconds: this.notifications.app.settings.SYNC_CONSENT_STATE_SECONDS,
      newNonce: () => randomBytes(24).toString('base64url'),
      // The format of the status route's last permission check (record-permissions.ts), which reads a
      // source's grantedRoles(): here the roles of the token the consent callback signed in with.
      recordPermissions: (tenantId, roles, log) =>
        recordPermissionCheck(
          notifications.pipeline,
          tenantId,
          { grantedRoles: () => Promise.resolve([...roles]) } as unknown as DirectorySource,
          log,
        ),
    };
  }

  purger(): TenantDataPurge {
    const { settings } = this.notifications.app;
    return new TenantPurge(
      this.notifications.app.deps().tables,
      storageAccountFromSettings(settings).blobService(),
    );
  }
}

/** Multi-tenant mode is on when the app registration and its certificate are named. */
function multiTenantAppOf(settings: AppSettings): MultiTenantApp | undefined {
  const clientId = settings.SYNC_MULTITENANT_CLIENT_ID;
  const certificateSecretName = settings.SYNC_MULTITENANT_CERTIFICATE_NAME;
  if (!clientId || !certificateSecretName) return undefined;
  const authorityHost = settings.SYNC_MULTITENANT_AUTHORITY_HOST.replace(/\/+$/, '');
  const graphEndpoint = settings.SYNC_MULTITENANT_GRAPH_ENDPOINT.replace(/\/+$/, '');
  const preset = (Object.keys(CLOUD_PRESETS) as CloudPreset[]).find(
    (name) =>
      CLOUD_PRESETS[name].authorityHost === authorityHost &&
      CLOUD_PRESETS[name].graphEndpoint === graphEndpoint,
  );
  const cloud: CloudSetting = preset ? { preset } : { authorityHost, graphEndpoint };
  return { clientId: clientId.toLowerCase(), certificateSecretName, cloud };
}

function missingVault(): ConsentStateSigner {
  const refuse = (): Promise<never> =>
    Promise.reject(
      new PermanentError(
        'KEY_VAULT_URI is not set: the consent state key cannot be kept',
        'permission-denied',
      ),
    );
  return { sign: refuse, verify: refuse };
}

let services: ConnectServices | undefined;

/** The process's connect services, on the process's notification services. */
export function connectServices(): ConnectServices {
  services ??= new ConnectServices(notificationServices());
  return services;
}
