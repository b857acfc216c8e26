import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { type RunningStandin, startStandin } from '../../../local/standin/index.js';
import { graphClient, graphToken, rawCall } from './standin-test-clients.js';

type DeltaItem = Record<string, unknown> & { id: string };
interface DeltaPage {
  '@odata.context'?: string;
  '@odata.nextLink'?: string;
  '@odata.deltaLink'?: string;
  value: DeltaItem[];
}

let standin: RunningStandin;

beforeAll(async () => {
  standin = await startStandin({
    users: 700,
    groups: 30,
    seed: 5,
    deltaPageSize: 200,
    groupDeltaPageBudget: 100,
  });
});
afterAll(async () => {
  await standin.stop();
});
beforeEach(() => {
  standin.control.clearFaults();
});

/** Follows nextLinks with the real Graph client until the deltaLink. */
async function round(
  firstUrl: string,
  headers: Record<string, string> = {},
): Promise<{ pages: DeltaPage[]; deltaLink: string }> {
  const client = graphClient(standin);
  const pages: DeltaPage[] = [];
  let url = firstUrl;
  for (;;) {
    const page = (await client.api(url).headers(headers).get()) as DeltaPage;
    pages.push(page);
    expect(page['@odata.nextLink'] !== undefined && page['@odata.deltaLink'] !== undefined).toBe(false);
    if (page['@odata.deltaLink']) return { pages, deltaLink: page['@odata.deltaLink'] };
    url = page['@odata.nextLink']!;
  }
}

const items = (pages: DeltaPage[]): DeltaItem[] => pages.flatMap((p) => p.value);

describe('users delta', () => {
  it('an initial round returns every user once in pages of 200, then a deltaLink; the next round has only changes', async () => {
    const initial = await round('/users/delta?$select=displayName,department,accountEnabled,manager');
    const snapshot = standin.control.snapshot();
    expect(initial.pages).toHaveLength(Math.ceil(snapshot.users.length / 200));
    expect(initial.pages[0]!['@odata.context']).toMatch(
      /\$metadata#users\(displayName,department,accountEnabled\)$/,
    );
    expect(initial.pages[1]!['@odata.context']).toMatch(/\$metadata#users$/);
    const all = items(initial.pages);
    expect(all.map((u) => u.id).sort()).toEqual(snapshot.users.map((u) => u.id).sort());
    const withManager = all.find((u) => u['manager@delta'] !== undefined)!;
    expect(withManager['manager@delta']).toEqual([
      {
        '@odata.type': '#microsoft.graph.user',
        id: snapshot.users.find((u) => u.id === withManager.id)!.managerId,
      },
    ]);
    expect(Object.keys(all[0]!).sort()).toEqual(
      expect.arrayContaining(['accountEnabled', 'department', 'displayName', 'id']),
    );

    const [a, b, c, d, e] = snapshot.users
      .filter((u) => u.userType === 'Member' && u.managerId !== null)
      .slice(5);
    const hired = standin.control.hire(
      { givenName: 'Nova', surname: 'Hire', department: 'Sales' },
      { managerId: a!.id },
    );
    standin.control.moveDepartment(a!.id, 'Legal');
    standin.control.softDelete(b!.id);
    standin.control.hardDelete(c!.id);
    standin.control.setManager(d!.id, null);
    standin.control.updateUser(e!.id, { city: 'Lisbon' }); // untracked by this $select

    const follow = await round(initial.deltaLink);
    const changed = items(follow.pages);
    const byId = new Map(changed.map((u) => [u.id, u]));
    expect(byId.get(hired.id)).toMatchObject({
      displayName: 'Nova Hire',
      department: 'Sales',
      accountEnabled: true,
    });
    expect(byId.get(hired.id)!['manager@delta']).toEqual([
      { '@odata.type': '#microsoft.graph.user', id: a!.id },
    ]);
    expect(byId.get(a!.id)).toMatchObject({ department: 'Legal' });
    expect(byId.get(b!.id)).toEqual({ id: b!.id, '@removed': { reason: 'changed' } });
    expect(byId.get(c!.id)).toEqual({ id: c!.id, '@removed': { reason: 'deleted' } });
    expect(byId.get(d!.id)!['manager@delta']).toEqual([
      { '@odata.type': '#microsoft.graph.user', id: d!.managerId, '@removed': { reason: 'deleted' } },
    ]);
    expect(byId.has(e!.id)).toBe(false);

    const quiet = await round(follow.deltaLink);
    expect(items(quiet.pages)).toEqual([]);
    expect(quiet.deltaLink).toMatch(/\/users\/delta\?\$deltatoken=/);

    standin.control.restore(b!.id);
    const restored = items((await round(quiet.deltaLink)).pages);
    expect(restored.find((u) => u.id === b!.id)).toMatchObject({ displayName: b!.displayName });
  });

  it('Prefer: return=minimal returns only the changed properties', async () => {
    const { deltaLink } = await round('/users/delta?$select=displayName,jobTitle,mobilePhone');
    const user = standin.control.snapshot().users.find((u) => !u.softDeleted)!;
    standin.control.updateUser(user.id, { jobTitle: 'Chief Delta Officer' });
    const changed = items((await round(deltaLink, { Prefer: 'return=minimal' })).pages);
    expect(changed).toEqual([{ jobTitle: 'Chief Delta Officer', id: user.id }]);
  });

  it('$deltatoken=latest returns no objects and a deltaLink that sees later changes', async () => {
    const { pages, deltaLink } = await round('/users/delta?$deltatoken=latest');
    expect(pages).toHaveLength(1);
    expect(pages[0]!.value).toEqual([]);
    const user = standin.control.snapshot().users.find((u) => !u.softDeleted)!;
    standin.control.rename(user.id, { displayName: 'Latest Token' });
    expect(items((await round(deltaLink)).pages).map((u) => u.displayName)).toEqual(['Latest Token']);
  });

  it("$filter=id eq '…' or … limits the round to those users; other options are refused", async () => {
    const [x, y] = standin.control.snapshot().users.filter((u) => !u.softDeleted);
    const { pages } = await round(`/users/delta?$filter=id eq '${x!.id}' or id eq '${y!.id}'`);
    expect(items(pages).map((u) => u.id)).toEqual([x!.id, y!.id]);
    await expect(graphClient(standin).api('/users/delta?$top=5').get()).rejects.toMatchObject({
      statusCode: 400,
    });
    await expect(
      graphClient(standin).api(`/users/delta?$filter=startswith(displayName,'a')`).get(),
    ).rejects.toMatchObject({
      statusCode: 400,
      code: 'Request_UnsupportedQuery',
    });
  });

  it('empty pages with a nextLink and replayed duplicates appear when the plan asks for them', async () => {
    standin.control.setFaults({ seed: 3, delta: { emptyPageEvery: 2, replayDuplicatesRate: 0.1 } });
    const { pages } = await round('/users/delta?$select=displayName');
    expect(pages.some((p) => p.value.length === 0 && p['@odata.nextLink'] !== undefined)).toBe(true);
    const ids = items(pages).map((u) => u.id);
    expect(ids.length).toBeGreaterThan(new Set(ids).size);
    expect(new Set(ids).size).toBe(standin.control.snapshot().users.length);
  });

  it('failAfterPages fails the next page request and counts pages served', async () => {
    const token = await graphToken(standin);
    standin.control.resetCounters();
    standin.control.setFaults({ delta: { failAfterPages: 1, failStatus: 503, failResource: 'users' } });
    const first = await rawCall(standin, token, 'GET', '/users/delta');
    expect(first.status).toBe(200);
    const next = (first.body as DeltaPage)['@odata.nextLink']!;
    const failed = await rawCall(standin, token, 'GET', next);
    expect(failed.status).toBe(503);
    const retried = await rawCall(standin, token, 'GET', next);
    expect(retried.status).toBe(200);
    expect(standin.control.counters().deltaPagesServed.users).toBe(2);
  });

  it.each([
    ['gone', 410, 'resyncRequired'],
    ['syncStateNotFound', 400, 'syncStateNotFound'],
    ['resyncRequired', 400, 'resyncRequired'],
  ] as const)('an expired delta token answers per the knob: %s → %i %s', async (knob, status, code) => {
    const token = await graphToken(standin);
    const { deltaLink } = await round('/users/delta?$select=displayName');
    standin.control.setFaults({ delta: { tokenMaxAgeSeconds: 60, expiredTokenResponse: knob } });
    standin.control.advanceClock(61_000);
    const answer = await rawCall(standin, token, 'GET', deltaLink);
    expect(answer.status).toBe(status);
    expect((answer.body as { error: { code: string } }).error.code).toBe(code);
    if (knob === 'gone')
      expect(answer.headers.get('location')).toMatch(/\/users\/delta\?\$select=displayName$/);
  });
});

describe('groups delta', () => {
  it('members@delta lists members (nested groups typed as groups), splits a large group across pages, and reports removals', async () => {
    const initial = await round('/groups/delta?$select=displayName,description,members');
    const snapshot = standin.control.snapshot();
    const merged = new Map<string, Set<string>>();
    const seenTwice = new Set<string>();
    for (const group of items(initial.pages)) {
      if (merged.has(group.id)) seenTwice.add(group.id);
      const members = merged.get(group.id) ?? new Set<string>();
      for (const ref of (group['members@delta'] as Array<{ id: string }> | undefined) ?? [])
        members.add(ref.id);
      merged.set(group.id, members);
    }
    expect(seenTwice.size).toBeGreaterThan(0);
    for (const group of snapshot.groups)
      expect([...merged.get(group.id)!].sort()).toEqual([...group.memberIds].sort());
    const allCompany = items(initial.pages).find((g) => g.displayName === 'All Company')!;
    expect((allCompany['members@delta'] as Array<Record<string, string>>)[0]!['@odata.type']).toBe(
      '#microsoft.graph.group',
    );

    const team = snapshot.groups.find(
      (g) => (g.displayName as string).startsWith('Team') && g.memberIds.length > 2,
    )!;
    const removed = team.memberIds[0]!;
    const added = snapshot.users.find((u) => !u.softDeleted && !team.memberIds.includes(u.id))!.id;
    standin.control.removeMember(team.id, removed);
    standin.control.addMember(team.id, added);
    const created = standin.control.createGroup({ displayName: 'Delta Newcomers' }, [added]);
    const doomed = snapshot.groups.find(
      (g) => g.id !== team.id && (g.displayName as string).startsWith('Team'),
    )!;
    standin.control.deleteGroup(doomed.id);

    const changes = items((await round(initial.deltaLink)).pages);
    const changedTeam = changes.find((g) => g.id === team.id)!;
    expect(changedTeam['members@delta']).toEqual([
      { '@odata.type': '#microsoft.graph.user', id: removed, '@removed': { reason: 'deleted' } },
      { '@odata.type': '#microsoft.graph.user', id: added },
    ]);
    expect(changes.find((g) => g.id === created.id)).toMatchObject({ displayName: 'Delta Newcomers' });
    expect(changes.find((g) => g.id === doomed.id)).toEqual({
      id: doomed.id,
      '@removed': { reason: 'deleted' },
    });
  });
});
