import { randomBytes } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import {
  type ConsentKeyVault,
  JwsConsentStateSigner,
} from '../../../../src/adapters/consent/consent-state-signer.js';

/** A vault holding versions of the key (the real one is Key Vault: see KeyVaultConsentKeys). */
function vault(): ConsentKeyVault & { rotate(): void } {
  const versions = new Map<string, Uint8Array>();
  let current = '';
  const rotate = () => {
    current = randomBytes(8).toString('hex');
    versions.set(current, randomBytes(32));
  };
  rotate();
  return {
    rotate,
    current: () => Promise.resolve({ version: current, key: versions.get(current)! }),
    version: (v) => Promise.resolve(versions.get(v)),
  };
}

const now = new Date('2026-12-02T01:00:00Z');
const claims = {
  nonce: 'a'.repeat(32),
  tenant: 'organizations',
  exp: Math.floor(now.getTime() / 1000) + 600,
};

describe('the consent state', () => {
  it('verifies what it signed until it expires, also after the key was rotated', async () => {
    const keys = vault();
    const signer = new JwsConsentStateSigner(keys);
    const state = await signer.sign(claims);
    expect(await signer.verify(state, now)).toEqual({ ok: true, claims });
    keys.rotate();
    expect((await signer.verify(state, new Date(now.getTime() + 599_000))).ok).toBe(true);
    expect(await signer.verify(state, new Date(now.getTime() + 600_000))).toEqual({
      ok: false,
      reason: 'the state has expired',
    });
  });

  it('refuses a state another key signed, a tampered one, and one with no signature at all', async () => {
    const signer = new JwsConsentStateSigner(vault());
    const foreign = await new JwsConsentStateSigner(vault()).sign(claims);
    expect((await signer.verify(foreign, now)).ok).toBe(false);
    const state = await signer.sign(claims);
    const [header, , signature] = state.split('.');
    const payload = Buffer.from(JSON.stringify({ ...claims, tenant: 'x' })).toString('base64url');
    expect((await signer.verify(`${header}.${payload}.${signature}`, now)).ok).toBe(false);
    const none = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    expect((await signer.verify(`${none}.${payload}.`, now)).ok).toBe(false);
    expect((await signer.verify('not a state', now)).ok).toBe(false);
  });
});
