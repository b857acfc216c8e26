/**
 * `$expand=manager` on `GET /users` and `GET /users/{id}`, as Graph serves it: the manager inline as a
 * `#microsoft.graph.user` object (only the properties of the inner `$select`), no `manager` key for a user
 * without one, the management chain with `$levels` on a single user (the docs' example,
 * `out-of-scope/user-manager.chain-levels-max.json`), pages of at most 100 users when expanding, and
 * Graph's 400s for what it refuses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type RunningStandin, type SnapshotUser, startStandin } from '../../../local/standin/index.js';
import { expectShapeCovers, FIXTURES_DIR } from './plugin-fixtures.js';
import { graphClient, graphToken, rawCall } from './standin-test-clients.js';

type UserBody = Record<string, unknown> & { id: string; manager?: Record<string, unknown> };
interface Page {
  '@odata.context'?: string;
  '@odata.nextLink'?: string;
  value: UserBody[];
}
interface GraphErrorBody {
  error: { code: string; message: string };
}

let standin: RunningStandin;
let token: string;
let users: SnapshotUser[];
const eventual = { ConsistencyLevel: 'eventual' };

const get = (path: string, headers: Record<string, string> = {}) =>
  rawCall(standin, token, 'GET', path, { headers });

/** The docs' only example of an expanded manager (user-list-manager.md, Example 2). */
async function chainFixture(): Promise<{ request: { url: string }; response: { body: UserBody } }> {
  const { readFileSync } = await import('node:fs');
  return JSON.parse(
    readFileSync(`${FIXTURES_DIR}/out-of-scope/user-manager.chain-levels-max.json`, 'utf8'),
  ) as { request: { url: string }; response: { body: UserBody } };
}

/** The fixture's shape cut to one level of manager with only the given properties. */
function oneLevel(body: UserBody, managerProperties: readonly string[]): UserBody {
  const manager = body.manager!;
  return {
    ...body,
    manager: Object.fromEntries(managerProperties.map((p) => [p, manager[p]])),
  };
}

function chainOf(user: SnapshotUser): SnapshotUser[] {
  const byId = new Map(users.map((u) => [u.id, u]));
  const chain: SnapshotUser[] = [];
  for (let at = user.managerId; at !== null; at = byId.get(at)?.managerId ?? null) chain.push(byId.get(at)!);
  return chain;
}

beforeAll(async () => {
  standin = await startStandin({ users: 260, groups: 5, seed: 15 });
  token = await graphToken(standin);
  users = standin.control.snapshot().users;
});
afterAll(async () => {
  await standin.stop();
});

describe('$expand=manager($select=id) on GET /users', () => {
  it("inlines each user's manager as {@odata.type, id} and leaves the key out for a user without one (real Graph client)", async () => {
    const page = (await graphClient(standin)
      .api('/users')
      .select(['id', 'displayName'])
      .expand('manager($select=id)')
      .top(100)
      .get()) as Page;
    expect(page.value).toHaveLength(100);
    const byId = new Map(users.map((u) => [u.id, u]));
    for (const user of page.value) {
      const managerId = byId.get(user.id)!.managerId;
      if (managerId === null) expect('manager' in user).toBe(false);
      else expect(user.manager).toEqual({ '@odata.type': '#microsoft.graph.user', id: managerId });
      expect(Object.keys(user).sort()).toEqual(
        managerId === null ? ['displayName', 'id'] : ['displayName', 'id', 'manager'],
      );
    }
    expect(page.value.some((u) => u.manager === undefined)).toBe(true);
    expect(page['@odata.context']).toMatch(/\$metadata#users\(id,displayName,manager\(id\)\)$/);
  });

  it("answers with the shape of the docs' example (user-list-manager.md), cut to the selected id", async () => {
    const fixture = await chainFixture();
    const page = (await get('/users?$select=id,displayName&$expand=manager($select=id)')).body as Page;
    const managed = page.value.find((u) => u.manager !== undefined)!;
    expectShapeCovers(managed, oneLevel(fixture.response.body, ['id']));
  });

  it('serves at most 100 users a page when expanding, even with $top=999, and the nextLink keeps the expand', async () => {
    const first = await get('/users?$top=999&$select=id&$expand=manager($select=id)');
    expect(first.status).toBe(200);
    const page = first.body as Page;
    expect(page.value).toHaveLength(100);
    const next = (await get(page['@odata.nextLink']!)).body as Page;
    expect(next.value).toHaveLength(100);
    expect(next.value.some((u) => u.manager !== undefined)).toBe(true);
    const seen = new Set([...page.value, ...next.value].map((u) => u.id));
    expect(seen.size).toBe(200);
  });
});

describe('$expand=manager on GET /users/{id}', () => {
  it('inlines the manager with only the inner $select, under an $entity context', async () => {
    const report = users.find((u) => u.managerId !== null)!;
    const actual = await get(`/users/${report.id}?$select=id&$expand=manager($select=id)`);
    expect(actual.status).toBe(200);
    expect(actual.body).toEqual({
      '@odata.context': expect.stringMatching(/\$metadata#users\(id,manager\(id\)\)\/\$entity$/) as unknown,
      id: report.id,
      manager: { '@odata.type': '#microsoft.graph.user', id: report.managerId },
    });
  });

  it("without an inner $select, the manager comes with Graph's default user properties", async () => {
    const report = users.find((u) => u.managerId !== null)!;
    const manager = users.find((u) => u.id === report.managerId)!;
    const body = (await get(`/users/${encodeURIComponent(report.userPrincipalName)}?$expand=manager`))
      .body as UserBody;
    expect(body.manager).toMatchObject({
      '@odata.type': '#microsoft.graph.user',
      id: manager.id,
      displayName: manager.displayName,
      userPrincipalName: manager.userPrincipalName,
      businessPhones: expect.any(Array) as unknown,
    });
    expect(body.displayName).toBe(report.displayName);
  });

  it("returns the whole management chain with $levels=max, in the shape of the docs' example", async () => {
    const fixture = await chainFixture();
    const deepest = users.reduce((a, b) => (chainOf(b).length > chainOf(a).length ? b : a));
    const chain = chainOf(deepest);
    expect(chain.length).toBeGreaterThanOrEqual(3);
    const query = new URL(fixture.request.url).search; // ?$expand=manager($levels=max;$select=id,displayName)&$select=id,displayName
    const actual = await get(`/users/${deepest.id}${query}`, eventual);
    expect(actual.status).toBe(200);
    expectShapeCovers(actual.body, fixture.response.body);
    const ids: string[] = [];
    for (let at = (actual.body as UserBody).manager; at; at = at.manager as UserBody | undefined)
      ids.push(at.id as string);
    expect(ids).toEqual(chain.map((u) => u.id));
  });

  it('stops the chain after n managers with $levels=n', async () => {
    const deepest = users.reduce((a, b) => (chainOf(b).length > chainOf(a).length ? b : a));
    const body = (
      await get(`/users/${deepest.id}?$select=id&$expand=manager($levels=2;$select=id)`, eventual)
    ).body as UserBody;
    expect(body.manager!.id).toBe(chainOf(deepest)[0]!.id);
    expect((body.manager!.manager as UserBody).id).toBe(chainOf(deepest)[1]!.id);
    expect('manager' in (body.manager!.manager as UserBody)).toBe(false);
  });
});

describe('$expand that Graph refuses', () => {
  const refused = async (path: string, headers: Record<string, string> = {}) => {
    const actual = await get(path, headers);
    return { status: actual.status, error: (actual.body as GraphErrorBody).error };
  };

  it('two navigation properties: 400 BadRequest, at most 1 expand item', async () => {
    expect(await refused('/users?$expand=manager,memberOf')).toEqual({
      status: 400,
      error: expect.objectContaining({
        code: 'BadRequest',
        message: 'The result of parsing $expand contained at least 2 items, but the maximum allowed is 1.',
      }) as unknown,
    });
  });

  it("an unknown property: 400 BadRequest, 'Could not find a property named …'", async () => {
    const id = users[0]!.id;
    expect(await refused(`/users/${id}?$expand=bogus`)).toEqual({
      status: 400,
      error: expect.objectContaining({
        code: 'BadRequest',
        message: "Could not find a property named 'bogus' on type 'microsoft.graph.user'.",
      }) as unknown,
    });
  });

  it('a structural property: 400 BadRequest, only navigation properties can be expanded', async () => {
    const { status, error } = await refused('/users?$expand=displayName');
    expect(status).toBe(400);
    expect(error.code).toBe('BadRequest');
    expect(error.message).toMatch(/'displayName'.*not a navigation property/);
  });

  it('$levels on the list of users: 400 (only on a single user), and on a single user without ConsistencyLevel: 400', async () => {
    expect((await refused('/users?$expand=manager($levels=max;$select=id)')).status).toBe(400);
    const report = users.find((u) => u.managerId !== null)!;
    expect((await refused(`/users/${report.id}?$expand=manager($levels=max)`)).status).toBe(400);
  });

  it('a navigation property Graph expands but the stand-in does not serve: 400 that says so', async () => {
    const { status, error } = await refused('/users?$expand=memberOf');
    expect(status).toBe(400);
    expect(error.code).toBe('Request_UnsupportedQuery');
    expect(error.message).toMatch(/stand-in.*memberOf/);
  });

  it('an unknown option inside the expand, and an unknown property in its $select: 400', async () => {
    expect((await refused('/users?$expand=manager($filter=id eq null)')).status).toBe(400);
    expect((await refused('/users?$expand=manager($select=nope)')).error.message).toBe(
      "Could not find a property named 'nope' on type 'microsoft.graph.user'.",
    );
  });
});
