/**
 * Issue 11: every HTTP route over HTTP, table-driven from the function registry: 401 without the
 * function key, 404 for an unknown tenant, 400 for a tenant id that is not a GUID and for a bad body
 * or query (each problem named by its field path), and a 2xx happy path. A route the table has no row
 * for fails the first test: add its row here.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TABLES } from '../../src/adapters/storage/storage-names.js';
import type { ConnectionSettings } from '../../src/domain/connection-settings.js';
import type { RunSummary } from '../../src/usecases/describe-runs.js';
import { PipelineUnderTest } from '../pipeline/pipeline-harness.js';
import { type ApiCall, apiClient } from './api-client.js';
import { type RegisteredRoute, registeredRoutes } from './registered-routes.js';

/** What the happy path and the bad input of one route send, filled in once the fixtures exist. */
interface Row {
  /** The path after `/api/`, with ids of the fixtures. */
  path(f: Fixtures): string;
  body?(f: Fixtures): unknown;
  headers?: Record<string, string>;
  status: number;
  /** Why the happy path is not checked here (another suite covers it). */
  skipHappy?: string;
  /** A bad body (or `?query` appended to the path) and the field path the 400 must name. */
  bad?: { body?: unknown; query?: string; path: string | RegExp };
}

interface Fixtures {
  tenantId: string;
  settings: ConnectionSettings;
  personId: string;
  photoPersonId: string;
  disputeId: string;
  heldRuns: [string, string];
  requestId: string;
}

const tenantRoute = (rest: string) => (f: Fixtures) => `connections/${f.tenantId}/${rest}`;

/** Keyed `METHOD route` as registered. Order matters: side effects (saves, approvals) come last. */
const ROWS: Record<string, Row> = {
  'GET health': { path: () => 'health', status: 200 },
  'GET openapi.json': { path: () => 'openapi.json', status: 200 },
  'POST notifications': { path: () => 'notifications?validationToken=hello', status: 200 },
  'POST notifications/lifecycle': {
    path: () => 'notifications/lifecycle?validationToken=hello',
    status: 200,
  },
  'GET connections/{tenantId}/status': { path: tenantRoute('status'), status: 200 },
  'GET tenant-errors': {
    path: () => 'tenant-errors?of=unknown',
    status: 200,
    bad: { query: 'top=0', path: 'top' },
  },
  'GET connections/{tenantId}/runs': {
    path: tenantRoute('runs'),
    status: 200,
    bad: { query: 'top=0', path: 'top' },
  },
  'GET connections/{tenantId}/runs/{runId}': {
    path: (f) => `connections/${f.tenantId}/runs/${f.requestId}`,
    status: 200,
  },
  'GET connections/{tenantId}/subscriptions': { path: tenantRoute('subscriptions'), status: 200 },
  'GET connections/{tenantId}/settings': { path: tenantRoute('settings'), status: 200 },
  'GET connections/{tenantId}/settings/history': {
    path: tenantRoute('settings/history'),
    status: 200,
    bad: { query: 'top=0', path: 'top' },
  },
  'POST connections/{tenantId}/settings/preview': {
    path: tenantRoute('settings/preview'),
    body: (f) => f.settings,
    status: 200,
    bad: { body: { displayName: '' }, path: 'displayName' },
  },
  'GET connections/{tenantId}/disputes': {
    path: tenantRoute('disputes'),
    status: 200,
    bad: { query: 'state=maybe', path: 'state' },
  },
  'GET people': { path: () => 'people', status: 200, bad: { query: 'top=0', path: 'top' } },
  'GET people/{personId}': { path: (f) => `people/${f.personId}`, status: 200 },
  'GET people/{personId}/history': {
    path: (f) => `people/${f.personId}/history`,
    status: 200,
    bad: { query: 'top=0', path: 'top' },
  },
  'GET people/{personId}/photo': { path: (f) => `people/${f.photoPersonId}/photo`, status: 200 },
  'GET teams': { path: () => 'teams', status: 200 },
  'GET events': { path: () => 'events', status: 200, bad: { query: 'limit=0', path: 'limit' } },
  'GET events/dead-letters': {
    path: () => 'events/dead-letters',
    status: 200,
    bad: { query: 'limit=0', path: 'limit' },
  },
  'GET connect': {
    path: () => 'connect',
    status: 302,
    skipHappy: 'a 302 to Entra needs multi-tenant mode (SYNC_MULTITENANT_*): the consent flow test covers it',
    bad: { query: `tenant=${'x'.repeat(80)}`, path: 'tenant' },
  },
  'GET connect/callback': {
    path: () => 'connect/callback',
    status: 200,
    skipHappy: 'needs a signed state from GET /api/connect and a consent: the consent flow test covers it',
  },
  'GET custom-properties': { path: () => 'custom-properties', status: 200 },
  'POST people': {
    path: () => 'people',
    body: () => ({ email: `new.${randomUUID().slice(0, 8)}@contoso.example`, displayName: 'New Person' }),
    status: 201,
    bad: { body: { email: 'not an email' }, path: 'email' },
  },
  'PATCH people/{personId}': {
    path: (f) => `people/${f.personId}`,
    body: () => ({ jobTitle: 'Tester' }),
    status: 200,
    bad: { body: { status: 'removed' }, path: 'status' },
  },
  'POST teams': {
    path: () => 'teams',
    body: () => ({ name: `Team ${randomUUID().slice(0, 6)}` }),
    status: 201,
    bad: { body: { name: '' }, path: 'name' },
  },
  'PUT custom-properties': {
    path: () => 'custom-properties',
    body: () => [{ name: 'costCenter', type: 'string' }],
    status: 200,
    bad: { body: [{ name: 'costCenter', type: 'colour' }], path: /^0\.type$/ },
  },
  'POST connections/{tenantId}/subscriptions': { path: tenantRoute('subscriptions'), status: 200 },
  'POST connections/{tenantId}/sync': {
    path: tenantRoute('sync'),
    body: () => ({}),
    status: 202,
    bad: { body: { full: 'yes' }, path: 'full' },
  },
  'POST connections/{tenantId}/runs/{runId}/approve': {
    path: (f) => `connections/${f.tenantId}/runs/${f.heldRuns[0]}/approve`,
    body: () => ({ by: 'every-route test' }),
    status: 200,
    bad: { body: { people: [] }, path: 'people' },
  },
  'POST connections/{tenantId}/runs/{runId}/reject': {
    path: (f) => `connections/${f.tenantId}/runs/${f.heldRuns[1]}/reject`,
    body: () => ({}),
    status: 200,
    bad: { body: { by: 5 }, path: 'by' },
  },
  'POST connections/{tenantId}/disputes/{id}': {
    path: (f) => `connections/${f.tenantId}/disputes/${f.disputeId}`,
    body: () => ({ action: 'create' }),
    status: 200,
    bad: { body: { action: 'link' }, path: 'personId' },
  },
  'PUT connections/{tenantId}/settings': {
    path: tenantRoute('settings'),
    body: (f) => f.settings,
    status: 200,
    bad: { body: { displayName: '' }, path: 'displayName' },
  },
  'POST connections/{tenantId}/settings/rollback': {
    path: tenantRoute('settings/rollback'),
    body: () => ({ version: 0 }),
    status: 200,
    bad: { body: { version: -1 }, path: 'version' },
  },
  'POST events/replay': {
    path: () => 'events/replay',
    body: () => ({ after: '' }),
    status: 202,
    bad: { body: { after: 5 }, path: 'after' },
  },
  // Last: the connection is disabled (its data kept).
  'DELETE connections/{tenantId}': {
    path: (f) => `connections/${f.tenantId}?purge=false`,
    status: 200,
    bad: { query: 'purge=maybe', path: 'purge' },
  },
};

const keyOf = (route: RegisteredRoute): string => `${route.method} ${route.route}`;
/** Routes named by the tenant in their path, or (the app's routes) in a `tenantId` query parameter. */
const byPathTenant = (route: RegisteredRoute): boolean => route.route.includes('{tenantId}');
const byQueryTenant = (route: RegisteredRoute): boolean =>
  route.authLevel !== 'anonymous' &&
  !byPathTenant(route) &&
  /^(people|teams|custom-properties|events)\b/.test(route.route);

describe('every HTTP route', () => {
  let pipeline: PipelineUnderTest;
  let api: ApiCall;
  let routes: RegisteredRoute[];
  const f = {} as Fixtures;

  const withTenant = (path: string, tenant: string, route: RegisteredRoute): string =>
    byPathTenant(route)
      ? path.replace(new RegExp(`connections/${f.tenantId}(?=[/?]|$)`), `connections/${tenant}`)
      : `${path}${path.includes('?') ? '&' : '?'}tenantId=${tenant}`;
  /** The route called with the key; any answer (JSON parsed when it is JSON, else its text). */
  async function send(route: RegisteredRoute, row: Row, path: string, body?: unknown) {
    const payload = body !== undefined ? body : row.body?.(f);
    const response = await fetch(`${pipeline.env.host().httpBaseUrl}/api/${path}`, {
      method: route.method,
      headers: {
        'x-functions-key': pipeline.env.functionKey,
        ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
        ...row.headers,
      },
      ...(payload !== undefined ? { body: JSON.stringify(payload) } : {}),
      redirect: 'manual',
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text) as unknown;
    } catch {
      // text or bytes
    }
    return { status: response.status, body: parsed };
  }

  async function heldRun(name: string, index: number): Promise<string> {
    const members = pipeline.control
      .snapshot()
      .users.filter((u) => u.userType === 'Member' && !u.softDeleted && u.accountEnabled);
    const user = members[index]!;
    pipeline.control.rename(user.id, { displayName: name });
    const run = await pipeline.sync();
    expect(run.state, JSON.stringify(run)).toBe('held');
    return run.runId;
  }

  beforeAll(async () => {
    pipeline = await PipelineUnderTest.start({
      standin: { users: 12, seed: 23 },
      schedule: { kind: 'manual' },
      // 16 buckets (the fewest allowed): a re-projection or a full round is 17 chunks, not 65.
      settings: { SYNC_BUCKETS: '16' },
    });
    api = apiClient(() => pipeline.env.host().httpBaseUrl, pipeline.env.functionKey);
    routes = await registeredRoutes();
    f.tenantId = pipeline.env.tenantId;
    expect((await pipeline.sync('initial')).state).toBe('completed');

    const person = await api<{ personId: string }>('POST', 'people', { email: 'by.hand@contoso.example' });
    expect(person.status).toBe(201);
    f.personId = person.body.personId;

    // A dispute: a new Entra user whose email two people made by hand share.
    const email = 'twice@contoso.example';
    for (const name of ['Twice One', 'Twice Two'])
      expect((await api('POST', 'people', { email, displayName: name })).status).toBe(201);
    const hired = pipeline.control.hire({ mail: email, userPrincipalName: email, displayName: 'Twice' });
    expect((await pipeline.sync()).state).toBe('completed');
    f.disputeId = hired.id;

    // A person with a photo (the photo pass follows the initial full run).
    const photos = pipeline.deps().tables.client(TABLES.personPhotos);
    for (let i = 0; i < 120 && !f.photoPersonId; i += 1) {
      for await (const row of photos.listEntities<Record<string, unknown>>()) {
        if (String(row.partitionKey).startsWith(`${f.tenantId}|`)) {
          f.photoPersonId = String(row.rowKey);
          break;
        }
      }
      if (!f.photoPersonId) await sleep(250);
    }
    expect(f.photoPersonId).toBeTruthy();

    // Review mode: each run's changes are held; two held runs (one approved, one rejected).
    const current = await api<{ settings: ConnectionSettings }>('GET', `connections/${f.tenantId}/settings`);
    const before = await pipeline.latestRunKey();
    const saved = await api<{ settings: ConnectionSettings }>('PUT', `connections/${f.tenantId}/settings`, {
      ...current.body.settings,
      policy: {
        ...current.body.settings.policy,
        gate: { ...current.body.settings.policy.gate, review: true },
      },
    });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    await pipeline.waitForNextRun(before);
    f.settings = saved.body.settings;
    f.heldRuns = [await heldRun('Held Once', 0), await heldRun('Held Twice', 1)];

    // POST …/sync answers an id GET …/runs/{id} finds.
    const requested = await api<{ requestId: string }>('POST', `connections/${f.tenantId}/sync`, {});
    expect(requested.status).toBe(202);
    f.requestId = requested.body.requestId;
    let found: RunSummary | undefined;
    for (let i = 0; i < 240 && found?.state !== 'held' && found?.state !== 'completed'; i += 1) {
      const answer = await api<RunSummary>('GET', `connections/${f.tenantId}/runs/${f.requestId}`);
      if (answer.status === 200) found = answer.body;
      else expect(answer.status).toBe(404);
      await sleep(250);
    }
    expect(found?.requestIds).toContain(f.requestId);
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  it('has a row for every registered HTTP function (add one for a new route)', () => {
    expect(routes.map(keyOf).filter((key) => !ROWS[key])).toEqual([]);
  });

  it('answers 401 without the function key on every route that is not anonymous', async () => {
    const refused: string[] = [];
    for (const route of routes.filter((r) => r.authLevel !== 'anonymous')) {
      const path = (ROWS[keyOf(route)]?.path(f) ?? route.route).replace(/\{[^}]+\}/g, randomUUID());
      const response = await fetch(`${pipeline.env.host().httpBaseUrl}/api/${path}`, {
        method: route.method,
      });
      if (response.status !== 401) refused.push(`${keyOf(route)}: ${response.status}`);
    }
    expect(refused).toEqual([]);
  });

  it('answers 404 for an unknown tenant and 400 (field path tenantId) for a tenant id that is not a GUID', async () => {
    const wrong: string[] = [];
    for (const route of routes.filter((r) => byPathTenant(r) || byQueryTenant(r))) {
      const row = ROWS[keyOf(route)];
      if (!row) continue;
      const unknown = await send(route, row, withTenant(row.path(f), randomUUID(), route));
      if (unknown.status !== 404)
        wrong.push(`${keyOf(route)} unknown tenant: ${unknown.status} ${JSON.stringify(unknown.body)}`);
      const notGuid = await send(route, row, withTenant(row.path(f), 'not-a-guid', route));
      const paths = ((notGuid.body as { issues?: { path: string }[] } | undefined)?.issues ?? []).map(
        (i) => i.path,
      );
      if (notGuid.status !== 400 || !paths.includes('tenantId'))
        wrong.push(`${keyOf(route)} not a GUID: ${notGuid.status} ${JSON.stringify(notGuid.body)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('answers 400 naming the field path of a bad body or query', async () => {
    const wrong: string[] = [];
    for (const route of routes) {
      const row = ROWS[keyOf(route)];
      if (!row?.bad) continue;
      const { bad } = row;
      const path = bad.query
        ? `${row.path(f)}${row.path(f).includes('?') ? '&' : '?'}${bad.query}`
        : row.path(f);
      const answer = await send(route, row, path, bad.body);
      const paths = ((answer.body as { issues?: { path: string }[] } | undefined)?.issues ?? []).map(
        (i) => i.path,
      );
      const named = paths.some((p) => (typeof bad.path === 'string' ? p === bad.path : bad.path.test(p)));
      if (answer.status !== 400 || !named)
        wrong.push(`${keyOf(route)}: ${answer.status} ${JSON.stringify(answer.body)}`);
    }
    expect(wrong).toEqual([]);
  });

  it("GET …/status tells the held runs, the open dispute, the token's roles and the delta token's age", async () => {
    const status = await send(
      { name: 'status', method: 'GET', route: 'connections/{tenantId}/status', authLevel: 'function' },
      ROWS['GET connections/{tenantId}/status']!,
      `connections/${f.tenantId}/status`,
    );
    expect(status.status).toBe(200);
    const body = status.body as {
      held: { runs: { runId: string; heldCounts: Record<string, number> }[]; total: number };
      disputes: { open: number; ids: string[] };
      permissions: { roles: string[]; missing: string[] };
      deltaToken: { present: boolean; ageSeconds: number };
      schedule: { kind: string; nextDueAt: string | null };
      lastRun: { errorsByCategory: Record<string, number> };
    };
    expect(body.held.runs.map((r) => r.runId).sort()).toEqual([...f.heldRuns].sort());
    expect(body.held.total).toBe(2);
    expect(body.disputes.ids).toContain(f.disputeId);
    expect(body.permissions.roles).toEqual(expect.arrayContaining(['User.Read.All', 'GroupMember.Read.All']));
    expect(body.permissions.missing).toEqual([]);
    expect(body.deltaToken.present).toBe(true);
    expect(body.deltaToken.ageSeconds).toBeGreaterThanOrEqual(0);
    expect(body.schedule).toEqual({ kind: 'manual', nextDueAt: null });
    expect(typeof body.lastRun.errorsByCategory).toBe('object');
  });

  it('answers its 2xx on the happy path of every route', async () => {
    const wrong: string[] = [];
    for (const [key, row] of Object.entries(ROWS)) {
      const route = routes.find((r) => keyOf(r) === key);
      if (!route || row.skipHappy) continue; // a row of a route not registered (any more), or covered elsewhere
      const answer = await send(route, row, row.path(f));
      if (answer.status !== row.status) wrong.push(`${key}: ${answer.status} ${JSON.stringify(answer.body)}`);
    }
    expect(wrong).toEqual([]);
  });
});
