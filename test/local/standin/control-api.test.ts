import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type RunningStandin, startStandin, type TenantSnapshot } from '../../../local/standin/index.js';
import { graphToken, rawCall } from './standin-test-clients.js';

let standin: RunningStandin;

beforeAll(async () => {
  standin = await startStandin({ users: 40, seed: 4 });
});
afterAll(async () => {
  await standin.stop();
});

async function control(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${standin.controlUrl}${path}`, {
    method,
    ...(body !== undefined
      ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
      : {}),
  });
  return { status: response.status, body: await response.json() };
}

describe('control API over HTTP (/_standin)', () => {
  it('applies operations and bulk lists, and the snapshot and Graph both reflect them', async () => {
    const hired = await control('POST', '/ops', {
      op: 'hire',
      user: { givenName: 'Ops', surname: 'Person' },
    });
    expect(hired.status).toBe(200);
    const [id] = (hired.body as { ids: string[] }).ids;
    const manager = standin.control.snapshot().users[0]!.id;
    const bulk = await control('POST', '/bulk', {
      operations: [
        { op: 'setManager', id, managerId: manager },
        { op: 'moveDepartment', id, department: 'Legal' },
        {
          op: 'updateUser',
          id,
          changes: { mail: null, onPremisesExtensionAttributes: { extensionAttribute3: 'x' } },
        },
      ],
    });
    expect(bulk.status).toBe(200);
    const snapshot = (await control('GET', '/snapshot')).body as TenantSnapshot;
    expect(snapshot.users.find((u) => u.id === id)).toMatchObject({
      managerId: manager,
      department: 'Legal',
      mail: null,
      softDeleted: false,
    });
    const token = await graphToken(standin);
    const viaGraph = await rawCall(standin, token, 'GET', `/users/${id}?$select=department,mail`);
    expect(viaGraph.body).toMatchObject({ department: 'Legal', mail: null, id });
  });

  it('refuses an invalid operation with 400 and an unknown user with 404', async () => {
    expect((await control('POST', '/ops', { op: 'fly', id: 'x' })).status).toBe(400);
    expect((await control('POST', '/ops', { op: 'disable', id: 'no-such-user' })).status).toBe(404);
  });

  it('sets and clears the fault plan and exposes counters', async () => {
    await control('DELETE', '/counters');
    const plan = await control('PUT', '/faults', {
      rules: [{ route: 'GET /users', kind: 'unavailable', everyNth: 1, maxHits: 1 }],
    });
    expect(plan.status).toBe(200);
    const token = await graphToken(standin);
    expect((await rawCall(standin, token, 'GET', '/users')).status).toBe(503);
    expect((await rawCall(standin, token, 'GET', '/users')).status).toBe(200);
    const counters = (await control('GET', '/counters')).body as {
      totalRequests: number;
      requestsByRoute: Record<string, number>;
      unavailable: number;
    };
    expect(counters.requestsByRoute['GET /users']).toBe(2);
    expect(counters.unavailable).toBe(1);
    await control('DELETE', '/faults');
    expect(((await control('GET', '/faults')).body as { rules: unknown[] }).rules).toEqual([]);
  });

  it('throttles without Retry-After when the plan says so (Graph sometimes omits it)', async () => {
    standin.control.setFaults({
      rules: [{ route: '/groups', kind: 'throttleWithoutRetryAfter', everyNth: 1, maxHits: 1 }],
    });
    const token = await graphToken(standin);
    const throttled = await rawCall(standin, token, 'GET', '/groups');
    expect(throttled.status).toBe(429);
    expect(throttled.headers.has('retry-after')).toBe(false);
    expect((throttled.body as { error: { code: string } }).error.code).toBe('TooManyRequests');
    expect((await rawCall(standin, token, 'GET', '/groups')).status).toBe(200);
    standin.control.clearFaults();
  });
});
