import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { TenantOperation } from '../../local/standin/control/operations.js';
import { TABLES } from '../../src/adapters/storage/storage-names.js';
import { bucketOf, bucketPartition } from '../../src/domain/bucket.js';
import { PipelineUnderTest } from './pipeline-harness.js';

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
    pipeline.control.bulk(ops);
    const run = await pipeline.sync('manual');
    expect(run.errors).toEqual([]);
    expect(run.state).toBe('completed');
    expect(await pipeline.differences()).toEqual([]);
  });

  it('removed memberships do not accumulate: a user whose memberships changed 2,100 times in 4 rounds keeps only the last round of removals', async () => {
    let previous: string[] = [];
    for (let round = 0; round < 4; round += 1) {
      const ops: TenantOperation[] = previous.map((groupId) => ({
        op: 'removeMember',
        groupId,
        memberId: churner,
      }));
      for (let i = 0; i < 300; i += 1)
        ops.push({ op: 'createGroup', group: { displayName: `Churn ${round}.${i}` }, memberIds: [churner] });
      previous = pipeline.control.bulk(ops).slice(previous.length);
      const run = await pipeline.sync('manual');
      expect(run.state).toBe('completed');
    }
    expect(await pipeline.differences()).toEqual([]);
    const deps = pipeline.deps();
    const row = await deps.tables.get(
      TABLES.dirUsers,
      bucketPartition(pipeline.env.tenantId, bucketOf(churner, deps.buckets)),
      churner,
    );
    const stored = Object.entries(row!)
      .filter(([name]) => name.startsWith('memberships'))
      .map(([, v]) => String(v))
      .join('');
    // 1,200 groups joined and 900 left over four rounds (the bench runs 5,000 changes); only the
    // last round's 300 removals may remain, beside the 300 present memberships.
    expect(stored.split('"present":false').length - 1).toBeLessThanOrEqual(300);
    expect(stored.split('"present":true').length - 1).toBeGreaterThanOrEqual(300);
  });
});
