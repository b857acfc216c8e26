import {
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  type TokenCredential,
} from '@azure/identity';

import { resolveCloud } from '../../domain/cloud.js';
import type { ConnectionSettings } from '../../domain/connection-settings.js';
import { PermanentError } from '../../shared/errors.js';

/**
 * The app setting holding the client id of the function app's user-assigned managed identity
 * (infra/app/function-app.bicep sets it; @azure/identity's conventions use the same name).
 */
export const APP_IDENTITY_CLIENT_ID_SETTING = 'AZURE_CLIENT_ID';

/** Where a connection's credentials are kept (Key Vault): names in the connection, values here. */
export interface CredentialSecrets {
  /** A client secret. */
  getSecret(name: string): Promise<string>;
  /** A certificate with its private key, as PEM (what ClientCertificateCredential reads). */
  getPemCertificate(name: string): Promise<string>;
}

export interface GraphCredentialOptions {
  /** Client id of the function app's own (user-assigned) identity, from AZURE_CLIENT_ID. */
  readonly appIdentityClientId: string | undefined;
  /** Undefined when no vault is configured (KEY_VAULT_URI unset). */
  readonly secrets: CredentialSecrets | undefined;
}

/** The credential that signs in to the connection's tenant for Microsoft Graph. */
export async function createGraphCredential(
  connection: ConnectionSettings,
  options: GraphCredentialOptions,
): Promise<TokenCredential> {
  const cloud = resolveCloud(connection.cloud);
  const common = { authorityHost: cloud.authorityHost, disableInstanceDiscovery: !cloud.instanceDiscovery };
  const { credential: setting, tenantId } = connection;
  switch (setting.kind) {
    case 'managed-identity': {
      // The app runs as a user-assigned identity only: without a client id the platform would be asked
      // for a system-assigned identity that does not exist. Default to the app's own identity.
      const clientId = setting.clientId ?? options.appIdentityClientId;
      return new ManagedIdentityCredential(clientId ? { clientId } : {});
    }
    case 'client-secret':
      return new ClientSecretCredential(
        tenantId,
        setting.clientId,
        await vault(options, setting.secretName).getSecret(setting.secretName),
        common,
      );
    case 'client-certificate':
      return new ClientCertificateCredential(
        tenantId,
        setting.clientId,
        {
          certificate: await vault(options, setting.certificateSecretName).getPemCertificate(
            setting.certificateSecretName,
          ),
        },
        common,
      );
  }
}

function vault(options: GraphCredentialOptions, name: string): CredentialSecrets {
  if (!options.secrets) {
    throw new PermanentError(
      `KEY_VAULT_URI is not set, so secret ${name} cannot be read`,
      'permission-denied',
    );
  }
  return options.secrets;
}
