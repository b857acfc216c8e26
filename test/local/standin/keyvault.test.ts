/**
 * The Key Vault secrets routes in-process (over the stand-in's Router): Key Vault's wire shapes, versions,
 * paging with nextLink, soft delete, the api-version rule and the challenge header.
 */
import { describe, expect, it } from 'vitest';

import { Router } from '../../../local/standin/http/router.js';
import { keyVaultChallenge, registerKeyVaultRoutes } from '../../../local/standin/keyvault/index.js';
import { callRoute, type InProcessCall } from './plugin-fixtures.js';

const VAULT = 'https://127.0.0.1:4443';

function setUp(seedSecrets: Record<string, string> = {}) {
  const router = new Router();
  const store = registerKeyVaultRoutes(router, { seedSecrets, pageSize: 2 });
  const call = (method: string, path: string, init: InProcessCall = {}) =>
    callRoute(router, method, path, {
      baseUrl: VAULT,
      ...init,
      query: { 'api-version': '2025-07-01', ...init.query },
    });
  return { store, call, router };
}

type Bundle = { value?: string; id: string; attributes: Record<string, unknown> };

describe('Key Vault secrets', () => {
  it('serves a seeded secret with its identifier and attributes', async () => {
    const { call } = setUp({ 'graph-client-secret': 's3cret' });
    const response = await call('GET', '/secrets/graph-client-secret');
    expect(response.status).toBe(200);
    const body = response.body as Bundle;
    expect(body.value).toBe('s3cret');
    expect(body.id).toMatch(new RegExp(`^${VAULT}/secrets/graph-client-secret/[0-9a-f]{32}$`));
    expect(body.attributes).toMatchObject({ enabled: true, recoveryLevel: 'Recoverable+Purgeable' });
  });

  it('sets new versions (PUT), reads the latest and a given version', async () => {
    const { call } = setUp();
    const first = (await call('PUT', '/secrets/client-state', { body: { value: 'one' } })).body as Bundle;
    await call('PUT', '/secrets/client-state', {
      body: { value: 'two', contentType: 'text/plain', tags: { a: 'b' } },
    });
    const latest = (await call('GET', '/secrets/client-state')).body as Bundle & { contentType: string };
    const old = (await call('GET', `/secrets/client-state/${first.id.split('/').at(-1)!}`)).body as Bundle;
    expect(latest).toMatchObject({ value: 'two', contentType: 'text/plain', tags: { a: 'b' } });
    expect(old.value).toBe('one');
  });

  it('answers 404 SecretNotFound in Key Vault’s error shape for a missing secret', async () => {
    const { call } = setUp();
    const response = await call('GET', '/secrets/missing');
    expect(response.status).toBe(404);
    expect(response.body).toEqual({
      error: { code: 'SecretNotFound', message: expect.any(String) as unknown },
    });
  });

  it('answers 400 without the api-version query parameter', async () => {
    const { router } = setUp({ a: '1' });
    const response = await callRoute(router, 'GET', '/secrets/a', { baseUrl: VAULT });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: { code: 'BadParameter' } });
  });

  it('lists secrets without values, page by page through nextLink', async () => {
    const { call } = setUp({ a: '1', b: '2', c: '3' });
    const first = (await call('GET', '/secrets')).body as { value: Bundle[]; nextLink: string | null };
    const next = new URL(first.nextLink!);
    const second = (await call('GET', next.pathname, { query: Object.fromEntries(next.searchParams) }))
      .body as {
      value: Bundle[];
      nextLink: string | null;
    };
    expect([...first.value, ...second.value].map((item) => item.id)).toEqual([
      `${VAULT}/secrets/a`,
      `${VAULT}/secrets/b`,
      `${VAULT}/secrets/c`,
    ]);
    expect(first.value.every((item) => item.value === undefined)).toBe(true);
    expect(second.nextLink).toBeNull();
  });

  it('soft-deletes: the secret disappears, shows under deletedsecrets, can be recovered or purged', async () => {
    const { call } = setUp({ a: '1', b: '2' });
    const deleted = await call('DELETE', '/secrets/a');
    expect(deleted.body).toMatchObject({
      recoveryId: `${VAULT}/deletedsecrets/a`,
      deletedDate: expect.any(Number) as unknown,
    });
    expect((await call('GET', '/secrets/a')).status).toBe(404);
    expect((await call('PUT', '/secrets/a', { body: { value: 'x' } })).status).toBe(409);
    expect((await call('GET', '/deletedsecrets/a')).status).toBe(200);
    expect((await call('POST', '/deletedsecrets/a/recover')).status).toBe(200);
    expect(((await call('GET', '/secrets/a')).body as Bundle).value).toBe('1');

    await call('DELETE', '/secrets/b');
    expect((await call('DELETE', '/deletedsecrets/b')).status).toBe(204);
    expect((await call('GET', '/deletedsecrets/b')).status).toBe(404);
  });

  it('registers every route for Key Vault tokens, and builds the challenge the SDK parses', () => {
    const { router } = setUp();
    for (const [method, path] of [
      ['GET', '/secrets'],
      ['PUT', '/secrets/x'],
      ['GET', '/secrets/x/v'],
      ['DELETE', '/secrets/x'],
    ]) {
      const match = router.match(method!, path!);
      expect(match.kind === 'found' && match.route.options.auth).toBe('keyvault');
    }
    expect(keyVaultChallenge('https://127.0.0.1:4443/', 'tenant-1')).toBe(
      'Bearer authorization="https://127.0.0.1:4443/tenant-1", resource="https://vault.azure.net"',
    );
  });
});
