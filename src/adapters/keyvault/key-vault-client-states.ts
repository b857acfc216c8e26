import type { TokenCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';

import type { ClientStateVault } from '../../ports/graph-subscriptions.js';
import { statusOf } from '../storage/table-gateway.js';
import { KeyVaultSecretStore } from './key-vault-secret-store.js';

const MICROSOFT_VAULT_SUFFIXES = ['.vault.azure.net', '.vault.usgovcloudapi.net', '.vault.azure.cn'];

/**
 * Subscriptions' clientStates in Key Vault (written with the app's identity, which needs
 * "Key Vault Secrets Officer" on the vault): one secret a subscription, read through the cached
 * secret store, deleted with its subscription. Values never leave this adapter but to compare them.
 */
export class KeyVaultClientStates implements ClientStateVault {
  readonly #client: SecretClient;
  readonly #reader: KeyVaultSecretStore;

  constructor(vaultUrl: string, credential: TokenCredential) {
    const host = new URL(vaultUrl).hostname.toLowerCase();
    this.#client = new SecretClient(vaultUrl, credential, {
      disableChallengeResourceVerification: !MICROSOFT_VAULT_SUFFIXES.some((suffix) => host.endsWith(suffix)),
    });
    this.#reader = new KeyVaultSecretStore(vaultUrl, credential);
  }

  async put(name: string, value: string): Promise<void> {
    await this.#client.setSecret(name, value, { contentType: 'graph-subscription-client-state' });
  }

  get(name: string): Promise<string> {
    return this.#reader.getSecret(name);
  }

  async remove(name: string): Promise<void> {
    try {
      // Soft delete (the vault's retention applies); the name is never reused.
      await this.#client.beginDeleteSecret(name);
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }
}
