import { describe, expect, it } from 'vitest';

import type { ConsentStateClaims } from '../../../src/domain/consent.js';
import type { TenantProof } from '../../../src/ports/consent.js';
import { completeConsent, type ConsentDeps } from '../../../src/usecases/connect-by-consent.js';
import type { NotificationDeps } from '../../../src/usecases/notification-deps.js';

const tenantId = '6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b';
const now = new Date('2026-12-02T01:00:00Z');
const silent = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
};

/** Deps whose every write throws: a refused answer must reach none of them. */
function deps(proof: TenantProof, claims: Partial<ConsentStateClaims> = {}): ConsentDeps {
  const untouchable = new Proxy(
    {},
    {
      get: (_target, name) => () => {
        throw new Error(`a refused answer touched ${String(name)}`);
      },
    },
  );
  return {
    notifications: {
      pipeline: { now: () => now, connections: untouchable, queues: untouchable },
      settings: { notificationUrl: undefined },
    } as unknown as NotificationDeps,
    app: {
      clientId: 'c1d2e3f4-0000-4000-8000-000000000001',
      certificateSecretName: 'app',
      cloud: { preset: 'global' },
    },
    signer: {
      sign: () => Promise.resolve('state'),
      verify: () =>
        Promise.resolve({
          ok: true as const,
          claims: {
            nonce: 'n'.repeat(24),
            tenant: 'organizations',
            exp: now.getTime() / 1000 + 60,
            ...claims,
          },
        }),
    },
    nonces: { markUsed: () => Promise.resolve(true) },
    probe: { prove: () => Promise.resolve(proof) },
    stateLifetimeSeconds: 600,
    newNonce: () => 'n'.repeat(24),
    recordPermissions: () => Promise.reject(new Error('a refused answer recorded permissions')),
  };
}

const accepted = { state: 'state', admin_consent: 'True', tenant: tenantId };

describe('the consent callback never takes the returned tenant at its word', () => {
  it('refuses when the token Entra issued names another tenant, and saves nothing', async () => {
    const proof = {
      tokenTenantId: '00000000-0000-4000-8000-0000000000ff',
      roles: ['User.Read.All'],
      graphAnswered: true,
    };
    const outcome = await completeConsent(deps(proof), accepted, silent);
    expect(outcome).toMatchObject({ kind: 'refused', status: 403 });
  });

  it('refuses a tenant that is not a GUID, and an answer that is neither a consent nor an error', async () => {
    const proof = { tokenTenantId: tenantId, roles: [], graphAnswered: false };
    expect(
      await completeConsent(deps(proof), { ...accepted, tenant: 'organizations' }, silent),
    ).toMatchObject({
      kind: 'refused',
      status: 400,
    });
    expect(await completeConsent(deps(proof), { state: 'state', tenant: tenantId }, silent)).toMatchObject({
      kind: 'refused',
      status: 400,
    });
  });

  it('refuses an answer naming another tenant than the one the state was issued for', async () => {
    const proof = { tokenTenantId: tenantId, roles: [], graphAnswered: false };
    const other = '11111111-2222-4333-8444-555555555555';
    expect(await completeConsent(deps(proof, { tenant: other }), accepted, silent)).toMatchObject({
      kind: 'refused',
      status: 403,
    });
  });
});
