import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { TenantOperation } from '../../local/standin/control/operations.js';
import { storedMemberships } from './directory-reader.js';
import { PipelineUnderTest } from './pipeline-harness.js';
import { churnMemberships } from './tenant-mutations.js';

/**
 * Shapes real tenants have and generated ones do not: a user in thousands of groups, a group with
 * every user, a group nested in hundreds, a user whose memberships churn. Smaller instances of the
 * issue's shapes (the bench runs the full ones): each syncs full and incrementally, equal to the
 * oracle, and no row breaks a Table Storage limit (the gateway would refuse it and the run would fail).
 */
describe('enterprise shapes', () => {
  let pipeline: PipelineUnderTest;
  let joiner: string;
  let churner: string;
  let child: string;
  let everyone: string;
  const joinerGroups: string[] = [];
  const parents: string[] = [];

  beforeAll(async () => {
    pipeline = await PipelineUnderTest.start({ standin: { users: 400, seed: 41 } });
    const users = pipeline.control
      .snapshot()
      .users.filter((u) => u.userType === 'Member' && u.accountEnabled);
    joiner = users[0]!.id;
    churner = users[1]!.id;
    const ops: TenantOperation[] = [];
    for (let i = 0; i < 2000; i += 1)
      ops.push({ op: 'createGroup', group: { displayName: `Wide ${i}` }, memberIds: [joiner] });
    joinerGroups.push(...pipeline.control.bulk(ops));
    everyone = pipeline.control.createGroup(
      { displayName: 'Everyone' },
      users.map((u) => u.id),
    ).id;
    child = pipeline.control.createGroup({ displayName: 'Nested child' }, [users[2]!.id]).id;
    for (let i = 0; i < 500; i += 1) {
      const parent = pipeline.control.createGroup({ displayName: `Parent ${i}` }, []).id;
      pipeline.control.nestGroup(parent, child);
      parents.push(parent);
    }
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  it('a full sync with a user in 2,000 groups, a group of every user and a group nested in 500 completes equal to the oracle', async () => {
    const run = await pipeline.sync('initial');
    expect(run.errors).toEqual([]);
    expect(run.state).toBe('completed');
    expect(await pipeline.differences()).toEqual([]);
    const directory = await pipeline.directory();
    // Each person counted once, as created: the 2,000-group user's changes fill more than one message
    // of its bucket, and the later ones' memberships change a person this run already created.
    expect(run.counts).toMatchObject({ created: directory.people.size, updated: 0, unchanged: 0 });
    // 2,000 wide groups, Everyone, and the generator's own groups.
    expect([...directory.teamMembers].filter((k) => k.endsWith(`|${joiner}`)).length).toBeGreaterThan(2000);
  });

  it('an incremental round that moves the user out of 1,500 groups and into 300 new ones, and un-nests 250, ends equal', async () => {
    const ops: TenantOperation[] = joinerGroups
      .slice(0, 1500)
      .map((groupId) => ({ op: 'removeMember', groupId, memberId: joiner }));
    for (let i = 0; i < 300; i += 1)
      ops.push({ op: 'createGroup', group: { displayName: `Later ${i}` }, memberIds: [joiner] });
    for (const parent of parents.slice(0, 250))
      ops.push({ op: 'removeMember', groupId: parent, memberId: child });
    ops.push({ op: 'removeMember', groupId: everyone, memberId: joiner });
    const before = teamsByPerson((await pipeline.directory()).teamMembers);
    pipeline.control.bulk(ops);
    const run = await pipeline.sync('manual');
    expect(run.errors).toEqual([]);
    expect(run.state).toBe('completed');
    expect(await pipeline.differences()).toEqual([]);
    // Each person whose teams changed counted once, though the user's 1,801 changes fill several messages.
    const after = teamsByPerson((await pipeline.directory()).teamMembers);
    const changed = [...new Set([...before.keys(), ...after.keys()])].filter(
      (id) => before.get(id) !== after.get(id),
    );
    expect(changed).toContain(joiner);
    expect(run.counts).toMatchObject({ created: 0, updated: changed.length });
  });

  it('removed memberships do not accumulate: a user whose memberships changed 2,100 times in 4 rounds keeps only the last round of removals', async () => {
    let previous: string[] = [];
    for (let round = 0; round < 4; round += 1) {
      previous = churnMemberships(pipeline.control, churner, previous, 300, String(round));
      const run = await pipeline.sync('manual');
      expect(run.state).toBe('completed');
    }
    expect(await pipeline.differences()).toEqual([]);
    const stored = await storedMemberships(
      pipeline.env.azurite.connectionString,
      pipeline.env.tenantId,
      churner,
    );
    // 1,200 groups joined and 900 left over four rounds (the bench runs 5,000 changes); only the
    // last round's 300 removals may remain, beside the 300 present memberships.
    expect(stored.removed).toBeLessThanOrEqual(300);
    expect(stored.present).toBeGreaterThanOrEqual(300);
  });
});

/** Each person's teams, as one comparable string, from `team|objectId` keys. */
function teamsByPerson(teamMembers: ReadonlySet<string>): Map<string, string> {
  const teams = new Map<string, string[]>();
  for (const key of teamMembers) {
    const [teamId, objectId] = key.split('|') as [string, string];
    teams.set(objectId, [...(teams.get(objectId) ?? []), teamId]);
  }
  return new Map([...teams].map(([id, list]) => [id, list.sort().join(',')]));
}
