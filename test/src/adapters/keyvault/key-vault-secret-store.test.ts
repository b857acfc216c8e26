/**
 * Certificates read from Key Vault through the real SecretClient against the stand-in's vault. A Key Vault
 * certificate is readable as a secret of the same name; its value and content type depend on the
 * certificate's policy: `application/x-pem-file` (PEM: key and certificate), or `application/x-pkcs12`
 * (base64 PFX), which is what `az keyvault certificate create` stores with the default policy.
 */
import forge from 'node-forge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type RunningStandin, startStandin } from '../../../../local/standin/index.js';
import type { KeyVaultSecretStore } from '../../../../src/adapters/keyvault/key-vault-secret-store.js';
import { standinSecretStore } from '../../../local/standin/standin-test-clients.js';

let standin: RunningStandin;
let store: KeyVaultSecretStore;

beforeAll(async () => {
  standin = await startStandin({ users: 3, seed: 13 });
  store = standinSecretStore(standin);
});

afterAll(async () => {
  await standin?.stop();
});

/** The stand-in's certificate and key as the base64 PFX Key Vault keeps for a PKCS#12 policy. */
function pkcs12Base64(pem: string): string {
  const key = forge.pki.privateKeyFromPem(pemBlock(pem, 'PRIVATE KEY'));
  const certificate = forge.pki.certificateFromPem(pemBlock(pem, 'CERTIFICATE'));
  const asn1 = forge.pkcs12.toPkcs12Asn1(key, [certificate], null, { algorithm: '3des' });
  return forge.util.encode64(forge.asn1.toDer(asn1).getBytes());
}

function pemBlock(pem: string, label: 'PRIVATE KEY' | 'CERTIFICATE'): string {
  const block = new RegExp(`-----BEGIN (?:RSA )?${label}-----[\\s\\S]+?-----END (?:RSA )?${label}-----`).exec(
    pem,
  );
  if (!block) throw new Error(`the stand-in's PEM has no ${label} block`);
  return block[0];
}

describe('KeyVaultSecretStore.getPemCertificate', () => {
  it('returns the key and certificate of a certificate created with the PEM policy', async () => {
    standin.secrets.set('graph-app', standin.clientCertificatePem, { contentType: 'application/x-pem-file' });
    await expect(store.getPemCertificate('graph-app')).resolves.toBe(standin.clientCertificatePem);
  });

  it('returns a PEM bundle uploaded as a plain secret (no content type)', async () => {
    standin.secrets.set('graph-app-secret', standin.clientCertificatePem);
    await expect(store.getPemCertificate('graph-app-secret')).resolves.toBe(standin.clientCertificatePem);
  });

  it('refuses a PKCS#12 certificate (the default policy) with a message naming the PEM policy', async () => {
    standin.secrets.set('graph-app-pfx', pkcs12Base64(standin.clientCertificatePem), {
      contentType: 'application/x-pkcs12',
    });
    const error = await store.getPemCertificate('graph-app-pfx').catch((e: unknown) => e);
    expect(error).toMatchObject({ category: 'invalid-data', transient: false });
    expect((error as Error).message).toMatch(
      /graph-app-pfx.*application\/x-pkcs12.*application\/x-pem-file/s,
    );
  });

  it('refuses a PEM without its private key (only the public certificate was uploaded)', async () => {
    standin.secrets.set('graph-app-public', pemBlock(standin.clientCertificatePem, 'CERTIFICATE'), {
      contentType: 'application/x-pem-file',
    });
    const error = await store.getPemCertificate('graph-app-public').catch((e: unknown) => e);
    expect(error).toMatchObject({ category: 'invalid-data', transient: false });
    expect((error as Error).message).toMatch(/private key/);
  });

  it('never puts the secret value into the error message', async () => {
    const value = pkcs12Base64(standin.clientCertificatePem);
    standin.secrets.set('graph-app-pfx-2', value, { contentType: 'application/x-pkcs12' });
    const error = (await store.getPemCertificate('graph-app-pfx-2').catch((e: unknown) => e)) as Error;
    expect(error.message).not.toContain(value.slice(0, 40));
  });
});
