/**
 * Issue 11, point 1: connecting a tenant by admin consent, end to end against the stand-in (its
 * `/{tenant}/v2.0/adminconsent` endpoint answering as told), through the local host's real routes:
 * accepted, declined, fewer permissions granted, a replayed, an expired or a forged state, a swapped
 * tenant; then disconnecting it, keeping its data or purging it.
 */
import { randomUUID } from 'node:crypto';
import { type AddressInfo, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type LocalEnvironment, startLocalEnvironment } from '../../local/environment/local-environment.js';
import { waitForRun } from '../../local/environment/run-watcher.js';
import { TABLES } from '../../src/adapters/storage/storage-names.js';
import { TEST_SETTINGS } from './pipeline-harness.js';

const CERTIFICATE_NAME = 'graph-multitenant-app';
const STATE_SECONDS = 5;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe('connect by admin consent (multi-tenant mode)', () => {
  const tenantId = randomUUID();
  const clientId = randomUUID();
  let env: LocalEnvironment;
  let base: string;
  let acceptedCallback: string;
  const hostLines: string[] = [];

  /** What a browser does: /api/connect → the consent screen → back to the callback URL (not followed). */
  async function consentAnswer(query = ''): Promise<URL> {
    const start = await fetch(`${base}/api/connect${query}`, {
      headers: { 'x-functions-key': env.functionKey },
      redirect: 'manual',
    });
    expect(start.status).toBe(302);
    const screen = new URL(start.headers.get('location')!);
    expect(screen.pathname).toMatch(/\/v2\.0\/adminconsent$/);
    const answer = await fetch(screen, { redirect: 'manual' });
    expect(answer.status).toBe(302);
    return new URL(answer.headers.get('location')!);
  }

  async function land(callback: URL | string): Promise<{ status: number; page: string }> {
    const response = await fetch(callback, { redirect: 'manual' });
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    return { status: response.status, page: await response.text() };
  }

  const connection = () => env.services.deps().connections.get(tenantId);
  const subscriptionsOfTenant = () => env.standin.subscriptions.list();

  beforeAll(async () => {
    const port = await freePort();
    const origin = `https://127.0.0.1:${port}`;
    env = await startLocalEnvironment({
      standin: { users: 12, seed: 111, tenantId, clientId, port },
      notifications: true,
      startHost: false,
      onHostEvent: (event) => hostLines.push(JSON.stringify(event)),
      settings: {
        ...TEST_SETTINGS,
        SYNC_MULTITENANT_CLIENT_ID: clientId,
        SYNC_MULTITENANT_CERTIFICATE_NAME: CERTIFICATE_NAME,
        SYNC_MULTITENANT_AUTHORITY_HOST: origin,
        SYNC_MULTITENANT_GRAPH_ENDPOINT: origin,
        SYNC_CONSENT_STATE_SECONDS: String(STATE_SECONDS),
      },
    });
    // The multi-tenant app's certificate lives in Key Vault (the stand-in's), as PEM.
    env.standin.secrets.set(CERTIFICATE_NAME, env.standin.clientCertificatePem, {
      contentType: 'application/x-pem-file',
    });
    // Nobody has connected the tenant yet: the environment's own connection goes before the host starts.
    await env.services
      .deps()
      .tables.transact(TABLES.connections, [['delete', { partitionKey: 'connection', rowKey: tenantId }]]);
    base = (await env.startHost()).httpBaseUrl;
  });

  afterAll(async () => {
    await env?.stop();
  });

  it('sends the admin to the admin consent endpoint for the Graph app permissions, with a signed state', async () => {
    const start = await fetch(`${base}/api/connect`, {
      headers: { 'x-functions-key': env.functionKey },
      redirect: 'manual',
    });
    expect(start.status).toBe(302);
    const screen = new URL(start.headers.get('location')!);
    expect(screen.origin).toBe(env.standin.authorityHost);
    expect(screen.pathname).toBe('/organizations/v2.0/adminconsent');
    expect(screen.searchParams.get('client_id')).toBe(clientId);
    expect(screen.searchParams.get('scope')).toBe(`${env.standin.graphEndpoint}/.default`);
    expect(screen.searchParams.get('redirect_uri')).toBe(`${base}/api/connect/callback`);
    expect(screen.searchParams.get('state')).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    // An admin route: no key, no redirect.
    expect((await fetch(`${base}/api/connect`, { redirect: 'manual' })).status).toBe(401);
  });

  it('declined: the page says what to do, and nothing is created', async () => {
    env.standin.control.setConsentAnswer({ answer: 'decline' });
    const { status, page } = await land(await consentAnswer());
    expect(status).toBe(200);
    expect(page).toContain('Consent was declined');
    expect(page).toContain('choose Accept');
    expect(page).toContain('AADSTS65004');
    expect(await connection()).toBeUndefined();
    expect(subscriptionsOfTenant()).toEqual([]);
  });

  it('consent required: the page says who may consent, and nothing is created', async () => {
    env.standin.control.setConsentAnswer({ answer: 'consent-required' });
    const { page } = await land(await consentAnswer());
    expect(page).toContain('An administrator must consent');
    expect(page).toContain('Privileged Role Administrator');
    expect(await connection()).toBeUndefined();
  });

  it('fewer permissions granted: each missing one is named, the connection is saved disabled, no run, no subscription', async () => {
    env.standin.control.setConsentAnswer({ answer: 'accept', grant: ['Mail.Send'] });
    const none = await land(await consentAnswer());
    expect(none.page).toContain('Permissions missing');
    expect(none.page).toContain('<li>User.Read.All: ');
    expect(none.page).toContain('<li>GroupMember.Read.All: ');

    env.standin.control.setConsentAnswer({ answer: 'accept', grant: ['User.Read.All'] });
    const some = await land(await consentAnswer());
    expect(some.page).toContain('<li>GroupMember.Read.All: ');
    expect(some.page).not.toContain('<li>User.Read.All: ');
    expect(some.page).not.toContain('CustomSecAttributeAssignment.Read.All');
    expect(some.page).not.toContain('<li>Mail.Send');

    const saved = await connection();
    expect(saved?.settings.enabled).toBe(false);
    expect(saved?.settings.credential).toEqual({
      kind: 'client-certificate',
      clientId,
      certificateSecretName: CERTIFICATE_NAME,
    });
    expect(await env.services.deps().runs.list(tenantId, 5)).toEqual([]);
    // The status route's last permission check says it too.
    const check = await env.services.deps().tables.get(TABLES.syncState, tenantId, 'permissions');
    expect(JSON.parse(String(check?.roles))).toEqual(['User.Read.All']);
    expect(JSON.parse(String(check?.missing))).toEqual(['GroupMember.Read.All']);
    expect(subscriptionsOfTenant()).toEqual([]);
  });

  it('accepted: the connection is created enabled, its subscriptions made and its initial run started', async () => {
    env.standin.control.setConsentAnswer({ answer: 'accept' });
    const callback = await consentAnswer(`?tenant=${tenantId}`);
    expect(callback.searchParams.get('tenant')).toBe(tenantId);
    acceptedCallback = callback.toString();
    const { status, page } = await land(callback);
    expect(status).toBe(200);
    expect(page).toContain('Tenant connected');
    expect(page).toContain('Change notifications are on');

    const saved = await connection();
    expect(saved?.settings.enabled).toBe(true);
    expect(saved?.settings.cloud).toEqual({
      authorityHost: env.standin.authorityHost,
      graphEndpoint: env.standin.graphEndpoint,
    });
    expect(
      subscriptionsOfTenant()
        .map((s) => s.resource)
        .sort(),
    ).toEqual(['groups', 'users']);
    const run = await waitForRun(env.services, tenantId, { timeoutMs: 60_000 });
    expect(run.trigger).toBe('initial');
    expect(run.state).toBe('completed');
    expect(run.counts.created).toBeGreaterThan(0);
  });

  it('a replayed state is refused, and changes nothing', async () => {
    const before = await connection();
    env.standin.control.setConsentAnswer({ answer: 'decline' });
    const callback = await consentAnswer(`?tenant=${tenantId}`);
    expect((await land(callback)).page).toContain('Consent was declined');
    env.standin.control.setConsentAnswer({ answer: 'accept' });
    const again = await land(callback);
    expect(again.status).toBe(400);
    expect(again.page).toContain('already used');
    expect((await connection())?.settings).toEqual(before?.settings);
    // The answer that connected the tenant, seconds ago: refused too (used, and expired by now or soon).
    expect((await land(acceptedCallback)).status).toBe(400);
  });

  it('an expired state is refused', async () => {
    const callback = await consentAnswer();
    await sleep(STATE_SECONDS * 1000 + 600);
    const { status, page } = await land(callback);
    expect(status).toBe(400);
    expect(page).toContain('the state has expired');
  });

  it('a forged state is refused (not signed by the app)', async () => {
    const callback = await consentAnswer();
    const [header, payload] = callback.searchParams.get('state')!.split('.');
    callback.searchParams.set('state', `${header}.${payload}.${Buffer.from('forged').toString('base64url')}`);
    const { status, page } = await land(callback);
    expect(status).toBe(400);
    expect(page).toContain('not issued by this app');
  });

  it('a tenant swapped in the answer is refused: signing in to it as the app proves otherwise', async () => {
    const swapped = randomUUID();
    const callback = await consentAnswer();
    callback.searchParams.set('tenant', swapped);
    const { status, page } = await land(callback);
    expect(status).toBe(403);
    expect(page).toContain(`could not sign in to tenant ${swapped}`);
    expect(await env.services.deps().connections.get(swapped)).toBeUndefined();

    // Asked of one tenant, an answer naming another is refused before anything is tried.
    const asked = await consentAnswer(`?tenant=${tenantId}`);
    asked.searchParams.set('tenant', swapped);
    const refused = await land(asked);
    expect(refused.status).toBe(403);
    expect(refused.page).toContain('not the tenant');
  });

  it('escapes what the callback reflects', async () => {
    env.standin.control.setConsentAnswer({ answer: 'decline' });
    const callback = await consentAnswer();
    callback.searchParams.set('error_description', '<script>alert(1)</script>');
    const { page } = await land(callback);
    expect(page).not.toContain('<script>');
    expect(page).toContain('&lt;script&gt;');
    env.standin.control.setConsentAnswer({ answer: 'accept' });
  });

  it("never logs the state's HMAC key or the app's certificate", () => {
    const key = env.standin.secrets.get('consent-state-key')?.versions.at(-1)?.value;
    expect(key).toBeDefined();
    expect(hostLines.length).toBeGreaterThan(10);
    const privateKey = env.standin.clientCertificatePem.split('-----BEGIN')[2]!.split('\n')[1]!;
    for (const line of hostLines) {
      expect(line).not.toContain(key!);
      expect(line).not.toContain(privateKey);
    }
  });

  it('keeps only nonces in the consentStates table, never the key or a state', async () => {
    const rows = await env.services.deps().tables.listPartition(TABLES.consentStates, 'nonce');
    expect(rows.length).toBeGreaterThan(0);
    const key = env.standin.secrets.get('consent-state-key')?.versions.at(-1)?.value;
    expect(key).toBeDefined();
    for (const row of rows) {
      const { partitionKey, rowKey, etag, timestamp, ...rest } = row as Record<string, unknown>;
      void partitionKey;
      void etag;
      void timestamp;
      expect(Object.keys(rest).sort()).toEqual(['expiresAt', 'usedAt']);
      expect(String(rowKey)).not.toContain(key!);
    }
  });

  describe('disconnect', () => {
    const api = (method: string, path: string) =>
      fetch(`${base}/api/${path}`, { method, headers: { 'x-functions-key': env.functionKey } });

    it('keeps the data: the connection disabled, its subscriptions deleted, people kept', async () => {
      const response = await api('DELETE', `connections/${tenantId}?purge=false`);
      expect(response.status).toBe(200);
      // The renewal timer may delete some of them first: the subscriptions are gone either way.
      expect(await response.json()).toMatchObject({ tenantId, disabled: true });
      expect((await connection())?.settings.enabled).toBe(false);
      expect(subscriptionsOfTenant()).toEqual([]);
      const people = await env.services
        .deps()
        .tables.listPartitionRange(TABLES.people, `${tenantId}|`, `${tenantId}}`);
      expect(people.length).toBeGreaterThan(0);
    });

    it('purges: every row of the tenant and the connection itself are deleted', async () => {
      const response = await api('DELETE', `connections/${tenantId}?purge=true`);
      expect(response.status).toBe(200);
      const body = (await response.json()) as { purged: { rows: Record<string, number> } };
      expect(body.purged.rows[TABLES.people]).toBeGreaterThan(0);
      expect(await connection()).toBeUndefined();
      const { tables } = env.services.deps();
      for (const table of [TABLES.people, TABLES.dirUsers, TABLES.dirGroups, TABLES.runs, TABLES.runErrors]) {
        expect(await tables.listPartitionRange(table, tenantId, `${tenantId}}`), table).toEqual([]);
      }
      expect((await api('DELETE', `connections/${tenantId}`)).status).toBe(404);
      expect((await api('DELETE', 'connections/not-a-guid')).status).toBe(400);
    });
  });
});
