/**
 * Key Vault through the real `@azure/keyvault-secrets` SecretClient and `ClientSecretCredential` against the
 * running stand-in: the bearer challenge, seeded secrets, set/get, 404 as RestError, paging and soft delete.
 */
import { ClientSecretCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type RunningStandin, startStandin } from '../../../local/standin/index.js';

let standin: RunningStandin;

beforeAll(async () => {
  standin = await startStandin({ users: 5, seed: 11 });
});

afterAll(async () => {
  await standin?.stop();
});

function credential(): ClientSecretCredential {
  return new ClientSecretCredential(standin.tenantId, standin.clientId, standin.clientSecret, {
    authorityHost: standin.authorityHost,
    disableInstanceDiscovery: true,
  });
}

/** A loopback vault's host can never end with `.vault.azure.net`, so the SDK's resource check is turned off. */
function secretClient(): SecretClient {
  return new SecretClient(standin.keyVaultUrl, credential(), { disableChallengeResourceVerification: true });
}

describe('Key Vault secrets through SecretClient', () => {
  it('answers an unauthenticated request with 401 and the bearer challenge the SDK follows', async () => {
    const response = await fetch(
      `${standin.keyVaultUrl}/secrets/${standin.clientSecretName}/?api-version=2025-07-01`,
    );
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer authorization="${standin.authorityHost}/${standin.tenantId}", resource="https://vault.azure.net"`,
    );
  });

  it('reads the seeded client secret', async () => {
    const secret = await secretClient().getSecret(standin.clientSecretName);
    expect(secret.value).toBe(standin.clientSecret);
    expect(secret.properties.vaultUrl).toBe(standin.keyVaultUrl);
  });

  it('sets a secret and reads it back, latest version and by version', async () => {
    const client = secretClient();
    const first = await client.setSecret('connection-contoso-client-state', 'first');
    await client.setSecret('connection-contoso-client-state', 'second');

    expect((await client.getSecret('connection-contoso-client-state')).value).toBe('second');
    expect(
      (await client.getSecret('connection-contoso-client-state', { version: first.properties.version! }))
        .value,
    ).toBe('first');
  });

  it("throws the SDK's RestError with 404 SecretNotFound for a missing secret", async () => {
    const error = await secretClient()
      .getSecret('does-not-exist')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'RestError', statusCode: 404, code: 'SecretNotFound' });
  });

  it('lists secrets across pages (nextLink)', async () => {
    const client = secretClient();
    for (let i = 0; i < 27; i++) await client.setSecret(`paged-${String(i).padStart(2, '0')}`, `v${i}`);
    const names: string[] = [];
    for await (const properties of client.listPropertiesOfSecrets()) names.push(properties.name);
    expect(names.filter((name) => name.startsWith('paged-'))).toHaveLength(27);
    expect(names).toContain(standin.clientSecretName);
  });

  it('soft-deletes with beginDeleteSecret; the deleted secret is then readable as deleted only', async () => {
    const client = secretClient();
    await client.setSecret('to-delete', 'x');
    const poller = await client.beginDeleteSecret('to-delete');
    const deleted = await poller.pollUntilDone();

    expect(deleted.properties.recoveryId).toBe(`${standin.keyVaultUrl}/deletedsecrets/to-delete`);
    expect((await client.getDeletedSecret('to-delete')).name).toBe('to-delete');
    await expect(client.getSecret('to-delete')).rejects.toMatchObject({ statusCode: 404 });
  });

  it('is refused by the SDK without disableChallengeResourceVerification (the loopback host is not a vault domain)', async () => {
    const strict = new SecretClient(standin.keyVaultUrl, credential());
    await expect(strict.getSecret(standin.clientSecretName)).rejects.toThrow(
      /does not match the requested domain/,
    );
  });
});
