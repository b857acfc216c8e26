import { QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { encodeMessage } from '../../src/adapters/storage/queue-gateway.js';
import { QUEUES, TABLES } from '../../src/adapters/storage/storage-names.js';
import { LeaseLostError } from '../../src/adapters/storage/sync-state-store.js';
import type { TableGateway } from '../../src/adapters/storage/table-gateway.js';
import { PermanentError } from '../../src/shared/errors.js';
import { failRound } from '../../src/usecases/fail-round.js';
import { fetchRound } from '../../src/usecases/fetch-round.js';
import { completeIfAllReported } from '../../src/usecases/finalize-run.js';
import { reconcileMessage } from '../../src/usecases/reconcile-message.js';
import { PipelineUnderTest } from './pipeline-harness.js';
import { drainChunks, interceptedSource, quiet, syncRequest } from './pipeline-probes.js';

class SimulatedCrash extends Error {}

/** The real table gateway, which "crashes" the handler at its `crashAt`-th storage call (counting them). */
function crashingTables(
  tables: TableGateway,
  crashAt: number,
  counter: { calls: number; scans: number },
): TableGateway {
  const counted = new Set([
    'get',
    'query',
    'listPartition',
    'listPartitionRange',
    'readRows',
    'transact',
    'upsert',
    'replaceIfMatch',
    'createIfAbsent',
  ]);
  return new Proxy(tables, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (!counted.has(String(name))) return (value as (...a: unknown[]) => unknown).bind(target);
      return (...args: unknown[]) => {
        counter.calls += 1;
        if (name === 'listPartition' && args[0] === TABLES.dirUsers) counter.scans += 1;
        if (counter.calls === crashAt)
          return Promise.reject(new SimulatedCrash(`crashed at storage call ${crashAt}`));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

describe('hardening: full rounds, failed rounds, fencing, group deletion, runs that end once', () => {
  let pipeline: PipelineUnderTest;
  let changes: QueueClient;
  let tenantId: string;

  beforeAll(async () => {
    pipeline = await PipelineUnderTest.start({ standin: { users: 600, seed: 71, deltaPageSize: 40 } });
    tenantId = pipeline.env.tenantId;
    changes = new QueueClient(pipeline.env.azurite.connectionString, QUEUES.directoryChanges);
    expect((await pipeline.sync('initial')).state).toBe('completed');
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  const members = () =>
    pipeline.control
      .snapshot()
      .users.filter((u) => u.userType === 'Member' && u.accountEnabled && !u.softDeleted);

  it('a full round is the truth for managers: one removed while the delta token was expired is cleared', async () => {
    const user = members().find((u) => u.managerId !== null)!;
    pipeline.control.setFaults({ delta: { tokenMaxAgeSeconds: 60, expiredTokenResponse: 'gone' } });
    pipeline.control.advanceClock(120_000);
    pipeline.control.setManager(user.id, null);
    const run = await pipeline.sync('manual');
    pipeline.control.clearFaults();
    expect(run.full).toBe(true);
    expect(run.state).toBe('completed');
    expect((await pipeline.directory()).people.get(user.id)?.managerObjectId).toBeNull();
    expect(await pipeline.differences()).toEqual([]);
  });

  it('a round that fails after publishing (403 on /groups/delta) is followed by a round that applies every change it read', async () => {
    await pipeline.env.host().stop();
    const disabled = members().slice(0, 60);
    for (const user of disabled) pipeline.control.disable(user.id);
    const afterRunKey = await pipeline.latestRunKey();
    pipeline.rounds.push(pipeline.control.snapshot());
    const forbidden = interceptedSource(pipeline.deps(), (_page, url) =>
      url.includes('/groups/delta')
        ? Promise.reject(
            new PermanentError('403 Authorization_RequestDenied on /groups/delta', 'permission-denied'),
          )
        : Promise.resolve(),
    );
    const error = await fetchRound(forbidden, syncRequest(tenantId), quiet).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(PermanentError);
    const { cursor: before } = await pipeline.deps().syncState.readCursor(tenantId);
    const failedRound = before.round!;
    await failRound(pipeline.deps(), tenantId, error as Error, quiet);
    const { cursor: after } = await pipeline.deps().syncState.readCursor(tenantId);
    expect(after.round).toBeNull();
    expect(after.lastRound).toBe(failedRound.seq);
    const left = await pipeline.deps().chunkStore.list(`seen/${tenantId}/${failedRound.seq}/`);
    expect(left).toEqual([]);

    await pipeline.env.startHost();
    const failed = await pipeline.waitForNextRun(afterRunKey);
    expect(failed.state).toBe('failed');
    expect(failed.failure).toMatch(/403/);

    for (const user of disabled) pipeline.control.enable(user.id);
    const next = await pipeline.sync('manual');
    expect(next.state).toBe('completed');
    const directory = await pipeline.directory();
    expect(disabled.filter((u) => directory.people.get(u.id)?.status !== 'created')).toEqual([]);
    expect(await pipeline.differences()).toEqual([]);
  });

  it('a fetcher that lost its lease publishes nothing more; its successor completes the run once, with exact counts', async () => {
    await pipeline.env.host().stop();
    const hired = Array.from(
      { length: 40 },
      (_, i) => pipeline.control.hire({ givenName: 'Fenced', surname: `Hire${i}` }).id,
    );
    const afterRunKey = await pipeline.latestRunKey();
    pipeline.rounds.push(pipeline.control.snapshot());
    let resume!: () => void;
    let paused!: () => void;
    const wasPaused = new Promise<void>((resolve) => (paused = resolve));
    const pause = new Promise<void>((resolve) => (resume = resolve));
    const stale = fetchRound(
      interceptedSource(pipeline.deps(), async (page) => {
        if (page !== 3) return;
        paused();
        await pause;
      }),
      syncRequest(tenantId, { full: true }),
      quiet,
    ).catch((e: unknown) => e);
    await wasPaused;
    // Its lease expires (a process stalled past it): a successor takes the round over from the checkpoint.
    const deps = pipeline.deps();
    const row = await deps.tables.get(TABLES.syncState, tenantId, 'lease');
    await deps.tables.replaceIfMatch(
      TABLES.syncState,
      { ...row!, holder: 'a-successor-that-died', expiresAt: 0, etag: undefined },
      row!.etag!,
    );
    const successor = await fetchRound(deps, syncRequest(tenantId, { full: true }), quiet);
    expect(successor.kind).toBe('completed');
    const published = await changes.getProperties();
    resume();
    expect(await stale).toBeInstanceOf(LeaseLostError);
    expect((await changes.getProperties()).approximateMessagesCount).toBe(published.approximateMessagesCount);

    await pipeline.env.startHost();
    const run = await pipeline.waitForNextRun(afterRunKey);
    expect(run.state).toBe('completed');
    const runs = await deps.runs.list(tenantId, 5);
    expect(runs.filter((r) => r.rowKey < (afterRunKey ?? '~'))).toHaveLength(1);
    expect(run.counts.created).toBe(hired.length);
    expect(await pipeline.differences()).toEqual([]);
  });

  it('two checks at once complete a run once: only one wins the transition', async () => {
    const [latest] = await pipeline.deps().runs.list(tenantId, 1);
    const ref = { tenantId, runId: String(latest!.runId), runKey: latest!.rowKey };
    const deps = pipeline.deps();
    // No host meanwhile: its watchdog (every 2 s) would be a seventh finalizer, and could win the run.
    await pipeline.env.host().stop();
    let results: string[];
    try {
      await deps.runs.transition(ref, (row) => ({ ...row, state: 'running' }));
      results = await Promise.all(
        Array.from({ length: 6 }, () => completeIfAllReported(pipeline.deps(), ref)),
      );
    } finally {
      await pipeline.env.startHost();
    }
    expect(results.filter((r) => r === 'completed')).toHaveLength(1);
  });

  it('a run whose fetch-done and checks were lost still completes (the watchdog completes it)', async () => {
    await pipeline.env.host().stop();
    pipeline.control.rename(members()[5]!.id, { displayName: 'Renamed While Events Were Lost' });
    const afterRunKey = await pipeline.latestRunKey();
    pipeline.rounds.push(pipeline.control.snapshot());
    expect((await fetchRound(pipeline.deps(), syncRequest(tenantId), quiet)).kind).toBe('completed');
    await new QueueClient(pipeline.env.azurite.connectionString, QUEUES.runEvents).clearMessages();
    await pipeline.env.startHost();
    const run = await pipeline.waitForNextRun(afterRunKey);
    expect(run.state).toBe('completed');
    expect(await pipeline.differences()).toEqual([]);
  });

  it('a chunk that can never be read is named in the run errors, and the next round is a full reconciliation', async () => {
    await pipeline.env.host().stop();
    pipeline.control.rename(members()[6]!.id, { displayName: 'Lost In A Missing Blob' });
    const afterRunKey = await pipeline.latestRunKey();
    expect((await fetchRound(pipeline.deps(), syncRequest(tenantId), quiet)).kind).toBe('completed');
    const chunks = await drainChunks(changes);
    expect(chunks.length).toBeGreaterThan(0);
    const [broken, ...rest] = chunks;
    const { changes: _dropped, ...withoutChanges } = broken!;
    await changes.sendMessage(
      encodeMessage({ ...withoutChanges, blobNames: [`chunks/${tenantId}/never-written.json`] }),
    );
    for (const chunk of rest) await changes.sendMessage(encodeMessage(chunk));
    await pipeline.env.startHost();
    const run = await pipeline.waitForNextRun(afterRunKey);
    expect(run.state).toBe('completed-with-errors');
    expect(run.errors.some((e) => e.message.includes('never-written') || /chunk \d+/.test(e.message))).toBe(
      true,
    );
    pipeline.rounds.push(pipeline.control.snapshot());
    const next = await pipeline.sync('manual');
    expect(next.full).toBe(true);
    expect(next.state).toBe('completed');
    expect(await pipeline.differences()).toEqual([]);
  });

  it('a group deletion killed at any storage call still takes the group out of every member’s teams, once redelivered', async () => {
    await pipeline.env.host().stop();
    // How many storage calls the groups chunk of a deletion makes, counted on a first deletion.
    const calls: number[] = [];
    for (let attempt = 0; attempt < 7; attempt += 1) {
      const group = pipeline.control.createGroup(
        { displayName: `Doomed ${attempt}` },
        members()
          .slice(0, 30)
          .map((u) => u.id),
      ).id;
      await pipeline.env.startHost();
      expect((await pipeline.sync('manual')).state).toBe('completed');
      await pipeline.env.host().stop();
      pipeline.control.deleteGroup(group);
      const afterRunKey = await pipeline.latestRunKey();
      pipeline.rounds.push(pipeline.control.snapshot());
      expect((await fetchRound(pipeline.deps(), syncRequest(tenantId), quiet)).kind).toBe('completed');
      const chunks = await drainChunks(changes);
      const groupsChunk = chunks.find((c) => c.partition === 'groups')!;
      expect(chunks.filter((c) => c.partition === 'groups')).toHaveLength(1);
      const total = calls[0] ?? 0;
      const crashAt = attempt === 0 ? 0 : Math.max(1, Math.round((attempt / 6) * total));
      const counter = { calls: 0, scans: 0 };
      const deps = pipeline.deps();
      const crashing = { ...deps, tables: crashingTables(deps.tables, crashAt, counter), runs: deps.runs };
      const outcome = await reconcileMessage(crashing, groupsChunk).catch((e: unknown) => e);
      if (attempt === 0) {
        calls.push(counter.calls);
        expect(outcome).not.toBeInstanceOf(Error);
      } else {
        expect(outcome).toBeInstanceOf(SimulatedCrash);
      }
      for (const chunk of chunks) await changes.sendMessage(encodeMessage(chunk));
      await pipeline.env.startHost();
      expect((await pipeline.waitForNextRun(afterRunKey)).state).toBe('completed');
      const directory = await pipeline.directory();
      expect([...directory.teamMembers].filter((k) => k.startsWith(`${group}|`))).toEqual([]);
      expect(await pipeline.differences()).toEqual([]);
      await pipeline.env.host().stop();
    }
    expect(calls[0]).toBeGreaterThan(10);
    // Seven kill points, each with two host restarts: 75 s on a quiet 2-core machine, over 120 s on a
    // busy one.
  }, 240_000);

  it('1,000 groups deleted in one round cost one pass over the mirror, not 1,000', async () => {
    await pipeline.env.host().stop();
    const people = members()
      .slice(0, 50)
      .map((u) => u.id);
    const groups = pipeline.control.bulk(
      Array.from({ length: 1000 }, (_, i) => ({
        op: 'createGroup' as const,
        group: { displayName: `Bulk ${i}` },
        memberIds: [people[i % 50]!],
      })),
    );
    await pipeline.env.startHost();
    expect((await pipeline.sync('manual')).state).toBe('completed');
    await pipeline.env.host().stop();
    pipeline.control.bulk(groups.map((id) => ({ op: 'deleteGroup' as const, id })));
    const afterRunKey = await pipeline.latestRunKey();
    pipeline.rounds.push(pipeline.control.snapshot());
    expect((await fetchRound(pipeline.deps(), syncRequest(tenantId), quiet)).kind).toBe('completed');
    const chunks = await drainChunks(changes);
    const groupChunks = chunks.filter((c) => c.partition === 'groups');
    expect(groupChunks).toHaveLength(1);
    const counter = { calls: 0, scans: 0 };
    const deps = pipeline.deps();
    await reconcileMessage({ ...deps, tables: crashingTables(deps.tables, -1, counter) }, groupChunks[0]!);
    expect(counter.scans).toBe(deps.buckets);
    for (const chunk of chunks) await changes.sendMessage(encodeMessage(chunk));
    await pipeline.env.startHost();
    expect((await pipeline.waitForNextRun(afterRunKey)).state).toBe('completed');
    expect(await pipeline.differences()).toEqual([]);
  });
});
