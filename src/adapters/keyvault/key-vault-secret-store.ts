import { ClientSecretCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';

import type { SecretStore } from '../../ports/secret-store.js';
import { PermanentError } from '../../shared/errors.js';
import { statusOf } from '../storage/table-gateway.js';

/** Key Vault DNS suffixes of Microsoft's clouds; any other vault host is a private or local one. */
const MICROSOFT_VAULT_SUFFIXES = ['.vault.azure.net', '.vault.usgovcloudapi.net', '.vault.azure.cn'];
const MICROSOFT_AUTHORITIES = [
  'login.microsoftonline.com',
  'login.microsoftonline.us',
  'login.chinacloudapi.cn',
];

/** A secret's value and the content type Key Vault keeps with it (a certificate's format). */
interface SecretValue {
  readonly value: string;
  readonly contentType: string | undefined;
}

/** Content types of a Key Vault certificate read as a secret, set by the certificate's policy. */
export const PEM_CONTENT_TYPE = 'application/x-pem-file';
export const PKCS12_CONTENT_TYPE = 'application/x-pkcs12';

const PEM_PRIVATE_KEY = /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----/;

/** Reads secrets with the function app's own identity; caches them for the process's life. */
export class KeyVaultSecretStore implements SecretStore {
  readonly #client: SecretClient;
  readonly #cache = new Map<string, Promise<SecretValue>>();

  constructor(vaultUrl: string, credential: TokenCredential) {
    const host = new URL(vaultUrl).hostname.toLowerCase();
    this.#client = new SecretClient(vaultUrl, credential, {
      // Challenge resource verification only knows Microsoft's vault domains.
      disableChallengeResourceVerification: !MICROSOFT_VAULT_SUFFIXES.some((suffix) => host.endsWith(suffix)),
    });
  }

  async getSecret(name: string): Promise<string> {
    return (await this.#secret(name)).value;
  }

  /**
   * A certificate with its private key, as PEM (what ClientCertificateCredential reads): a Key Vault
   * certificate whose policy has content type application/x-pem-file, or a PEM bundle stored as a secret.
   * A PKCS#12 certificate (the default policy of `az keyvault certificate create`) is refused with the fix.
   */
  async getPemCertificate(name: string): Promise<string> {
    const { value, contentType } = await this.#secret(name);
    if (contentType !== undefined && contentType !== PEM_CONTENT_TYPE) {
      throw new PermanentError(
        `Key Vault certificate ${name} is stored as ${contentType}; the app reads PEM only: create or import ` +
          `it with a policy whose secretProperties.contentType is ${PEM_CONTENT_TYPE} (see infra/README.md)`,
        'invalid-data',
      );
    }
    if (!PEM_PRIVATE_KEY.test(value) || !PEM_CERTIFICATE.test(value)) {
      throw new PermanentError(
        `Key Vault secret ${name} is not a PEM certificate with its private key`,
        'invalid-data',
      );
    }
    return value;
  }

  #secret(name: string): Promise<SecretValue> {
    let value = this.#cache.get(name);
    if (!value) {
      value = this.#read(name);
      this.#cache.set(name, value);
      value.catch(() => this.#cache.delete(name));
    }
    return value;
  }

  async #read(name: string): Promise<SecretValue> {
    try {
      const secret = await this.#client.getSecret(name);
      if (secret.value === undefined)
        throw new PermanentError(`Key Vault secret ${name} has no value`, 'invalid-data');
      return { value: secret.value, contentType: secret.properties.contentType };
    } catch (error) {
      const status = statusOf(error);
      if (status === 404) throw new PermanentError(`Key Vault has no secret named ${name}`, 'invalid-data');
      if (status === 401 || status === 403) {
        throw new PermanentError(
          `the function app may not read Key Vault secret ${name}`,
          'permission-denied',
        );
      }
      throw error;
    }
  }
}

/**
 * The function app's own identity: its managed identity in Azure; locally, the service principal
 * given in the environment (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and
 * AZURE_AUTHORITY_HOST, the variables @azure/identity's EnvironmentCredential reads).
 */
export function createAppIdentityCredential(env: NodeJS.ProcessEnv = process.env): TokenCredential {
  if (env.AZURE_CLIENT_SECRET && env.AZURE_TENANT_ID && env.AZURE_CLIENT_ID) {
    const authorityHost = env.AZURE_AUTHORITY_HOST ?? `https://${MICROSOFT_AUTHORITIES[0]!}`;
    return new ClientSecretCredential(env.AZURE_TENANT_ID, env.AZURE_CLIENT_ID, env.AZURE_CLIENT_SECRET, {
      authorityHost,
      disableInstanceDiscovery: !MICROSOFT_AUTHORITIES.includes(new URL(authorityHost).hostname),
    });
  }
  return new ManagedIdentityCredential(env.AZURE_CLIENT_ID ? { clientId: env.AZURE_CLIENT_ID } : {});
}
