/**
 * Contract tests: for every Graph fixture at the top level of /work/shared/fixtures/graph/ that the core
 * stand-in serves, the equivalent request is sent to the stand-in and the answer's SHAPE (status, property
 * names, annotations, nesting, key headers) must cover the fixture's. Fixture values are placeholders and
 * are not compared. Fixtures of the plug-ins are claimed by `PLUGIN_FIXTURES_COVERED`.
 */
import { readdirSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type RunningStandin, startStandin } from '../../../local/standin/index.js';
import { expectShapeCovers, FIXTURES_DIR, loadFixture, PLUGIN_FIXTURES_COVERED } from './plugin-fixtures.js';
import { graphToken, rawCall } from './standin-test-clients.js';

interface Actual {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
}
type Page = {
  '@odata.nextLink'?: string;
  '@odata.deltaLink'?: string;
  value: Array<Record<string, unknown>>;
};

let standin: RunningStandin;
let token: string;
let engineeringId: string;
let allCompanyId: string;

const get = (path: string, headers: Record<string, string> = {}): Promise<Actual> =>
  rawCall(standin, token, 'GET', path, { headers });
const eventual = { ConsistencyLevel: 'eventual' };

async function deltaPages(first: string, headers: Record<string, string> = {}): Promise<Actual[]> {
  const pages: Actual[] = [];
  let url: string | undefined = first;
  while (url) {
    const page = await get(url, headers);
    pages.push(page);
    url = (page.body as Page)['@odata.nextLink'];
  }
  return pages;
}
const deltaLinkOf = (pages: Actual[]): string => (pages[pages.length - 1]!.body as Page)['@odata.deltaLink']!;

function batchEnvelope(body: unknown): { responses: Array<{ keys: string[] }> } {
  const responses = (body as { responses: Array<Record<string, unknown>> }).responses;
  return { responses: responses.map((r) => ({ keys: Object.keys(r).sort() })) };
}

let largeGroupPages: Promise<Actual[]> | undefined;
/**
 * A change round where one group's members@delta outgrows a page (budget 6): removals and additions split
 * over three pages, the group object repeated on each, each slice starting with a removal as in the doc.
 */
function largeGroupRound(): Promise<Actual[]> {
  largeGroupPages ??= (async () => {
    const link = deltaLinkOf(await deltaPages('/groups/delta?$select=displayName,description,members'));
    const group = standin.control.group(engineeringId)!;
    const users = group.memberIds.filter((id) => standin.control.user(id));
    const outsiders = standin.control
      .snapshot()
      .users.filter((u) => !u.softDeleted && !group.memberIds.includes(u.id))
      .map((u) => u.id);
    standin.control.removeMember(engineeringId, users[0]!);
    for (const id of outsiders.slice(0, 4)) standin.control.addMember(engineeringId, id);
    standin.control.removeMember(engineeringId, users[1]!);
    for (const id of outsiders.slice(4, 9)) standin.control.addMember(engineeringId, id);
    return deltaPages(link);
  })();
  return largeGroupPages;
}

/** The request each fixture shows, adapted to the stand-in's data (ids, tokens, domain). */
const CORE_CASES: Record<string, () => Promise<Actual>> = {
  'user-list.all.json': () => get('/users'),
  'user-list.filter-startswith-count-top.json': () =>
    // The doc's response lists mailNickname, which Graph's default set lacks: selected explicitly here.
    get(
      `/users?$filter=startswith(displayName,'a')&$orderby=displayName&$count=true&$top=1&$select=displayName,mail,mailNickname,userPrincipalName`,
      eventual,
    ),
  'user-list.filter-endswith-count.json': () =>
    get(`/users?$filter=endswith(mail,'a@contoso.com')&$orderby=userPrincipalName&$count=true`, eventual),
  'user-list.guest-b2b-upn.json': () =>
    get(
      `/users?$select=id,displayName,mail,identities&$filter=endsWith(userPrincipalName,'%23EXT%23@contoso.onmicrosoft.com')&$count=true`,
      eventual,
    ),
  'user-manager.get.json': async () => {
    const report = standin.control.snapshot().users.find((u) => u.managerId !== null)!;
    return get(`/users/${encodeURIComponent(report.userPrincipalName)}/manager`);
  },
  'group-members.list.json': () => get(`/groups/${engineeringId}/members`),
  'group-members.filter-startswith-count.json': () =>
    get(`/groups/${engineeringId}/members?$count=true&$filter=startswith(displayName, 'a')`, eventual),
  'group-transitive-members.list.json': () => get(`/groups/${allCompanyId}/transitiveMembers`),
  'group-transitive-members.cast-group-count.json': () =>
    get(`/groups/${allCompanyId}/transitivemembers/microsoft.graph.group?$count=true`, eventual),
  'group-transitive-members.cast-user-filter-count.json': () =>
    get(
      `/groups/${allCompanyId}/transitiveMembers/microsoft.graph.user?$count=true&$orderBy=displayName&$filter=startswith(displayName, 'a')`,
      eventual,
    ),
  'error.not-implemented.select-skills.json': () => get('/users/?$select=skills'),
  'error.invalid-range.json': () => get('/users/00000000-0000-0000-0000-000000000000'),
  'throttling.429.json': async () => {
    standin.control.setFaults({
      rules: [{ route: 'GET /users', kind: 'throttle', everyNth: 1, maxHits: 1, retryAfterSeconds: 2.128 }],
    });
    try {
      return await get('/users');
    } finally {
      standin.control.clearFaults();
    }
  },
  'user-delta.default-properties.json': () => get('/users/delta'),
  'user-delta.select.json': () => get('/users/delta?$select=displayName,jobTitle,mobilePhone'),
  'user-delta.select-minimal.json': async () => {
    const pages = await deltaPages('/users/delta?$select=displayName,jobTitle,mobilePhone');
    // More changed users than a page holds, so the answer has a nextLink as in the doc.
    for (const user of standin.control
      .snapshot()
      .users.filter((u) => !u.softDeleted)
      .slice(0, 4)) {
      standin.control.updateUser(user.id, {
        displayName: 'Vance Adele',
        jobTitle: 'Product Marketing Manager',
      });
    }
    return get(deltaLinkOf(pages), { Prefer: 'return=minimal' });
  },
  'user-delta.initial-round.json': async () => {
    const victim = standin.control.hire({ givenName: 'Soon', surname: 'Gone' });
    const first = await get('/users/delta?$select=displayName,givenName,surname');
    standin.control.softDelete(victim.id); // reported when its page comes
    return first;
  },
  'user-delta.nextlink-page.json': async () => {
    const first = await get('/users/delta?$select=displayName,givenName,surname');
    return get((first.body as Page)['@odata.nextLink']!);
  },
  'user-delta.final-page-deltalink.json': async () => {
    const pages = await deltaPages('/users/delta?$select=displayName,givenName,surname');
    return pages[pages.length - 1]!;
  },
  'user-delta.deltalink-no-changes.json': async () =>
    get(deltaLinkOf(await deltaPages('/users/delta?$select=displayName,givenName,surname'))),
  'user-delta.deltalink-changes.json': async () => {
    const link = deltaLinkOf(await deltaPages('/users/delta?$select=displayName,givenName,surname'));
    const [a, b] = standin.control.snapshot().users.filter((u) => !u.softDeleted && u.managerId !== null);
    standin.control.rename(a!.id, { givenName: 'MOD', surname: 'Administrator' });
    standin.control.softDelete(b!.id);
    return get(link);
  },
  'group-delta.default-properties.json': () => get('/groups/delta'),
  'group-delta.select.json': () => get('/groups/delta?$select=displayName,description,mailNickname'),
  'group-delta.select-minimal.json': async () => {
    const link = deltaLinkOf(await deltaPages('/groups/delta?$select=displayName,description,mailNickname'));
    for (const group of standin.control.snapshot().groups) {
      standin.control.updateGroup(group.id, {
        displayName: `${group.displayName as string} (renamed)`,
        description: 'Renamed',
      });
    }
    return get(link, { Prefer: 'return=minimal' });
  },
  'group-delta.initial-round.json': () => get('/groups/delta?$select=displayName,description,members'),
  'group-delta.nextlink-page.json': async () => {
    const first = await get('/groups/delta?$select=displayName,description,members');
    return get((first.body as Page)['@odata.nextLink']!);
  },
  'group-delta.final-page-deltalink.json': async () => {
    const pages = await deltaPages('/groups/delta?$select=displayName,description,members');
    return pages[pages.length - 1]!;
  },
  'group-delta.deltalink-no-changes.json': async () =>
    get(deltaLinkOf(await deltaPages('/groups/delta?$select=displayName,description,members'))),
  'group-delta.members-delta.json': async () => {
    const link = deltaLinkOf(await deltaPages('/groups/delta?$select=displayName,description,members'));
    const group = standin.control.group(engineeringId)!;
    const outsider = standin.control
      .snapshot()
      .users.find((u) => !u.softDeleted && !group.memberIds.includes(u.id))!;
    standin.control.removeMember(
      engineeringId,
      group.memberIds.find((id) => standin.control.user(id))!,
    );
    standin.control.addMember(engineeringId, outsider.id);
    return get(link);
  },
  'group-delta.large-group-page1.json': async () => (await largeGroupRound())[0]!,
  'group-delta.large-group-page2.json': async () => (await largeGroupRound())[1]!,
  'batch.response.json': () =>
    rawCall(standin, token, 'POST', '/$batch', {
      body: {
        requests: [
          { id: '1', method: 'GET', url: '/users?$top=1' },
          { id: '2', method: 'GET', url: '/groups?$top=1' },
          { id: '3', method: 'DELETE', url: `/groups/${engineeringId}` },
          {
            id: '4',
            url: `/users/${standin.control.snapshot().users[0]!.id}/getPasswordSingleSignOnCredentials`,
            method: 'POST',
            body: {},
            headers: { 'Content-Type': 'application/json' },
          },
          {
            id: '5',
            url: 'users?$select=id,displayName,userPrincipalName&$filter=city eq null&$count=true',
            method: 'GET',
            headers: eventual,
          },
        ],
      },
    }),
  'batch.response.legacy.json': () =>
    rawCall(standin, token, 'POST', '/$batch', {
      body: {
        requests: [
          { id: '1', method: 'GET', url: '/users?$top=1' },
          { id: '2', method: 'GET', url: '/groups?$top=1' },
        ],
      },
    }),
  'batch.depends-on.request.json': () =>
    rawCall(standin, token, 'POST', '/$batch', {
      body: {
        requests: [
          { id: '1', method: 'GET', url: '/users?$top=1' },
          { id: '2', dependsOn: ['1'], method: 'GET', url: '/groups?$top=1' },
          { id: '4', dependsOn: ['2'], method: 'GET', url: `/groups/${engineeringId}/members` },
          { id: '3', dependsOn: ['4'], method: 'GET', url: '/users/delta?$deltatoken=latest' },
        ],
      },
    }),
};

/** Fixtures whose response is compared differently (explained in each test). */
const ENVELOPE_ONLY = new Set(['batch.response.json', 'batch.response.legacy.json']);

beforeAll(async () => {
  standin = await startStandin({
    users: 120,
    groups: 8,
    seed: 21,
    deltaPageSize: 3,
    groupDeltaPageBudget: 6,
  });
  token = await graphToken(standin);
  const groups = standin.control.snapshot().groups;
  engineeringId = groups.find((g) => g.displayName === 'sg-Engineering')!.id;
  allCompanyId = groups.find((g) => g.displayName === 'All Company')!.id;
  const aaron = standin.control.hire({
    givenName: 'Aaron',
    surname: 'Able',
    mail: 'grada@contoso.com',
    department: 'Engineering',
  });
  standin.control.addMember(engineeringId, aaron.id);
  standin.control.hire({
    givenName: 'Adele',
    surname: 'Guest',
    userType: 'Guest',
    userPrincipalName: 'adele_fabrikam.com#EXT#@contoso.onmicrosoft.com',
    mail: 'adele@fabrikam.com',
  });
});
afterAll(async () => {
  await standin.stop();
});

describe('Graph fixtures: every top-level fixture is claimed by a contract test', () => {
  it('lists each fixture either in the core cases or in PLUGIN_FIXTURES_COVERED', () => {
    const all = readdirSync(FIXTURES_DIR).filter((f) => f.endsWith('.json'));
    const claimed = new Set([...Object.keys(CORE_CASES), ...PLUGIN_FIXTURES_COVERED]);
    expect(all.filter((f) => !claimed.has(f))).toEqual([]);
    expect([...claimed].filter((f) => !all.includes(f))).toEqual([]);
  });
});

describe('Graph fixtures: the stand-in answers with the same shape', () => {
  it.each(
    Object.keys(CORE_CASES).filter((n) => !ENVELOPE_ONLY.has(n) && n !== 'batch.depends-on.request.json'),
  )('%s', async (name) => {
    const fixture = loadFixture(name);
    const actual = await CORE_CASES[name]!();
    if (fixture.response!.status !== null) expect(actual.status).toBe(fixture.response!.status);
    expectShapeCovers(actual.body, fixture.response!.body);
    expect(actual.headers.get('request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(actual.headers.get('client-request-id')).toBeTruthy();
    expect(actual.headers.get('content-type')).toMatch(/^application\/json/);
    for (const header of Object.keys(fixture.response!.headers ?? {}))
      expect(actual.headers.has(header)).toBe(true);
  });

  it.each([...ENVELOPE_ONLY])(
    '%s: same batch envelope (inner requests target APIs of the doc the stand-in does not serve, e.g. /me, planner)',
    async (name) => {
      const fixture = loadFixture(name);
      const actual = await CORE_CASES[name]!();
      expect(actual.status).toBe(fixture.response!.status);
      const ours = batchEnvelope(actual.body).responses.map((r) => r.keys);
      const wanted = new Set(batchEnvelope(fixture.response!.body).responses.flatMap((r) => r.keys));
      const union = new Set(ours.flat());
      for (const key of wanted) expect(union.has(key)).toBe(true);
      if (name === 'batch.response.json') {
        const fixtureItems = (
          fixture.response!.body as { responses: Array<{ id: string; body: unknown; headers: unknown }> }
        ).responses;
        const actualItems = (
          actual.body as { responses: Array<{ id: string; status: number; body: unknown; headers: unknown }> }
        ).responses;
        const counted = actualItems.find((r) => r.id === '5')!;
        expect(counted.status).toBe(200);
        expectShapeCovers(counted.body, fixtureItems.find((r) => r.id === '5')!.body);
        expectShapeCovers(
          actualItems.find((r) => r.id === '1')!.headers,
          fixtureItems.find((r) => r.id === '1')!.headers,
        );
        expect(actualItems.find((r) => r.id === '3')!.status).toBe(405);
      }
    },
  );

  it('batch.depends-on.request.json: a dependsOn chain runs in order and every item succeeds', async () => {
    const fixture = loadFixture('batch.depends-on.request.json');
    const actual = await CORE_CASES['batch.depends-on.request.json']!();
    expect(actual.status).toBe(200);
    const responses = (actual.body as { responses: Array<{ id: string; status: number }> }).responses;
    const requested = (fixture.request!.body as { requests: Array<{ id: string }> }).requests.map(
      (r) => r.id,
    );
    expect(responses.map((r) => r.id).sort()).toEqual([...requested].sort());
    expect(responses.every((r) => r.status === 200)).toBe(true);
  });
});

describe('$batch rules', () => {
  it('a failed dependency gives 424 to its dependants, and an inner 429 leaves the batch 200', async () => {
    standin.control.setFaults({
      rules: [{ route: 'GET /groups', kind: 'throttle', everyNth: 1, inBatch: true, retryAfterSeconds: 3 }],
    });
    try {
      const actual = await rawCall(standin, token, 'POST', '/$batch', {
        body: {
          requests: [
            { id: 'a', method: 'GET', url: '/groups?$top=1' },
            { id: 'b', dependsOn: ['a'], method: 'GET', url: '/users?$top=1' },
            { id: 'c', method: 'GET', url: '/users?$top=1' },
          ],
        },
      });
      expect(actual.status).toBe(200);
      const byId = new Map(
        (
          actual.body as { responses: Array<{ id: string; status: number; headers: Record<string, string> }> }
        ).responses.map((r) => [r.id, r]),
      );
      expect(byId.get('a')!.status).toBe(429);
      expect(byId.get('a')!.headers['Retry-After']).toBe('3');
      expect(byId.get('b')!.status).toBe(424);
      expect(byId.get('c')!.status).toBe(200);
    } finally {
      standin.control.clearFaults();
    }
  });

  it('more than 20 requests is 400', async () => {
    const requests = Array.from({ length: 21 }, (_, i) => ({
      id: String(i + 1),
      method: 'GET',
      url: '/users?$top=1',
    }));
    const actual = await rawCall(standin, token, 'POST', '/$batch', { body: { requests } });
    expect(actual.status).toBe(400);
  });

  it('inner requests need the same permissions as top-level ones', async () => {
    standin.control.setGrantedPermissions(['User.Read.All']);
    try {
      const limited = await graphToken(standin);
      const actual = await rawCall(standin, limited, 'POST', '/$batch', {
        body: { requests: [{ id: '1', method: 'GET', url: '/groups' }] },
      });
      expect((actual.body as { responses: Array<{ status: number }> }).responses[0]!.status).toBe(403);
    } finally {
      standin.control.setGrantedPermissions(['User.Read.All', 'GroupMember.Read.All', 'Mail.Send']);
    }
  });
});
