import { QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { QUEUES } from '../../src/adapters/storage/storage-names.js';
import { fetchRound } from '../../src/usecases/fetch-round.js';
import type { SyncRequest } from '../../src/usecases/messages.js';
import { PipelineUnderTest } from './pipeline-harness.js';
import { drainQueue, quiet } from './pipeline-probes.js';
import { mutateTenant } from './tenant-mutations.js';

/**
 * Queues do not keep order across rounds either: round N's messages held back and delivered only
 * after round N+1's have been applied must leave the same directory as delivery in order.
 */
describe('order across rounds: round N applied after round N+1', () => {
  let pipeline: PipelineUnderTest;
  let changes: QueueClient;

  beforeAll(async () => {
    pipeline = await PipelineUnderTest.start({ standin: { users: 500, seed: 61 } });
    changes = new QueueClient(pipeline.env.azurite.connectionString, QUEUES.directoryChanges);
    expect((await pipeline.sync('initial')).state).toBe('completed');
    await pipeline.env.host().stop();
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  /** Fetches a round here (the host is stopped) and takes its change messages off the queue. */
  async function fetchAndHold(): Promise<{ afterRunKey: string | undefined; bodies: string[] }> {
    const afterRunKey = await pipeline.latestRunKey();
    pipeline.rounds.push(pipeline.control.snapshot());
    const request: SyncRequest = {
      type: 'sync-request',
      tenantId: pipeline.env.tenantId,
      trigger: 'manual',
      full: false,
      requestedAt: new Date().toISOString(),
    };
    expect((await fetchRound(pipeline.deps(), request, quiet)).kind).toBe('completed');
    return { afterRunKey, bodies: await drainQueue(changes) };
  }

  /** Round N (held), round N+1 delivered and applied, then round N delivered: equal to the oracle. */
  async function reversedRounds(mutateN: () => void, mutateN1: () => void): Promise<void> {
    mutateN();
    const roundN = await fetchAndHold();
    mutateN1();
    const roundN1 = await fetchAndHold();
    for (const body of roundN1.bodies) await changes.sendMessage(body);
    await pipeline.env.startHost();
    const runN1 = await pipeline.waitForNextRun(roundN1.afterRunKey);
    expect(runN1.state).toBe('completed');
    for (const body of roundN.bodies) await changes.sendMessage(body);
    const runs = async () =>
      (await pipeline.deps().runs.list(pipeline.env.tenantId, 2)).map((r) => String(r.state));
    for (let i = 0; i < 240 && (await runs()).includes('running'); i += 1)
      await new Promise((r) => setTimeout(r, 500));
    expect(await runs()).toEqual(['completed', 'completed']);
    await pipeline.env.host().stop();
    expect(await pipeline.differences()).toEqual([]);
  }

  it('a manager set in round N survives an unrelated property changed in round N+1 and applied first', async () => {
    const snapshot = pipeline.control.snapshot();
    const members = snapshot.users.filter(
      (u) => u.userType === 'Member' && u.accountEnabled && !u.softDeleted,
    );
    const [user, manager] = [members[3]!, members[7]!];
    await reversedRounds(
      () => pipeline.control.setManager(user.id, manager.id),
      () => pipeline.control.moveDepartment(user.id, 'Moved in round N+1'),
    );
    const person = (await pipeline.directory()).people.get(user.id)!;
    expect(person.managerObjectId).toBe(manager.id);
    expect(person.department).toBe('Moved in round N+1');
  });

  it('a membership added in round N to a group deleted in round N+1 (applied first) gives no team member', async () => {
    const snapshot = pipeline.control.snapshot();
    const member = snapshot.users.filter(
      (u) => u.userType === 'Member' && u.accountEnabled && !u.softDeleted,
    )[11]!;
    const group = pipeline.control.createGroup({ displayName: 'Short-lived' }, []).id;
    await pipeline.env.startHost();
    expect((await pipeline.sync('manual')).state).toBe('completed');
    await pipeline.env.host().stop();
    await reversedRounds(
      () => pipeline.control.addMember(group, member.id),
      () => pipeline.control.deleteGroup(group),
    );
    const directory = await pipeline.directory();
    expect(directory.teams.get(group)?.status).toBe('archived');
    expect(directory.teamMembers.has(`${group}|${member.id}`)).toBe(false);
  });

  for (const seed of [3, 17, 29]) {
    it(`random mutations in both rounds, round N delivered last (seed ${seed}): equal to the oracle`, async () => {
      await reversedRounds(
        () => mutateTenant(pipeline.control, seed, 30),
        () => mutateTenant(pipeline.control, seed + 1000, 30),
      );
    });
  }
});
