/** Issue 7, point 7: no sync request is lost (full requests, the lease's release, the scheduler, short leases). */
import { setTimeout as sleep } from 'node:timers/promises';

import { QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { QUEUES } from '../../src/adapters/storage/storage-names.js';
import { LeaseLostError, SyncStateStore } from '../../src/adapters/storage/sync-state-store.js';
import { readAppSettings } from '../../src/config/app-settings.js';
import { fetchRound } from '../../src/usecases/fetch-round.js';
import type { PipelineDeps } from '../../src/usecases/pipeline-deps.js';
import { requestDueRounds } from '../../src/usecases/request-sync.js';
import { PipelineUnderTest } from './pipeline-harness.js';
import { interceptedSource, peekSyncRequests, quiet, syncRequest, withMethod } from './pipeline-probes.js';

/** The real Graph source, whose second page waits for `gate` (a fetcher busy or paused mid-round). */
function pausedOnSecondPage(deps: PipelineDeps, gate: Promise<unknown>, reached: () => void): PipelineDeps {
  return interceptedSource(deps, async (page) => {
    if (page !== 2) return;
    reached();
    await gate;
  });
}

/** `deps` whose sync state runs `before` ahead of the named method (an interleaving under test). */
function withSyncStateHook(
  deps: PipelineDeps,
  method: 'markDirty',
  before: () => Promise<void>,
): PipelineDeps {
  const syncState = withMethod(deps.syncState, method, (original) => async (...args) => {
    await before();
    return original(...args);
  });
  return { ...deps, syncState };
}

describe('no request is lost', () => {
  let pipeline: PipelineUnderTest;
  let requests: QueueClient;
  let tenantId: string;

  beforeAll(async () => {
    pipeline = await PipelineUnderTest.start({
      standin: { users: 150, seed: 71 },
      schedule: { kind: 'manual' },
      startHost: false,
    });
    tenantId = pipeline.env.tenantId;
    requests = new QueueClient(pipeline.env.azurite.connectionString, QUEUES.syncRequests);
  });
  afterAll(async () => {
    await pipeline?.stop();
  });
  beforeEach(async () => {
    await requests.clearMessages();
  });

  it('a crash between the scheduler’s two writes never skips a due round (request sent before the due time moves)', async () => {
    const deps = pipeline.deps();
    const stored = await deps.connections.get(tenantId);
    await deps.connections.save(
      { ...stored!.settings, schedule: { kind: 'interval', minutes: 5 } },
      new Date(Date.now() - 1000),
    );
    const crashing: PipelineDeps = {
      ...deps,
      queues: Object.assign(Object.create(deps.queues) as typeof deps.queues, {
        send: () => Promise.reject(new Error('process killed while sending')),
      }),
    };
    await expect(requestDueRounds(crashing)).rejects.toThrow('process killed');
    // The next tick still finds the round due, and asks for it.
    expect(await requestDueRounds(pipeline.deps())).toEqual({ due: [tenantId] });
    expect((await peekSyncRequests(requests)).map((r) => r.tenantId)).toEqual([tenantId]);
    expect(await requestDueRounds(pipeline.deps())).toEqual({ due: [] });
    await deps.connections.save({ ...stored!.settings, schedule: { kind: 'manual' } }, null);
  });

  it('a full reconciliation requested while a round runs makes the next round full', async () => {
    const deps = pipeline.deps();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let reached!: () => void;
    const busy = new Promise<void>((resolve) => (reached = resolve));
    const running = fetchRound(pausedOnSecondPage(deps, gate, reached), syncRequest(tenantId), quiet);
    await busy;
    expect((await fetchRound(pipeline.deps(), syncRequest(tenantId, { full: true }), quiet)).kind).toBe(
      'coalesced',
    );
    expect((await fetchRound(pipeline.deps(), syncRequest(tenantId), quiet)).kind).toBe('coalesced');
    open();
    expect((await running).kind).toBe('completed');

    const followUps = await peekSyncRequests(requests);
    expect(followUps).toHaveLength(1);
    expect(followUps[0]).toMatchObject({ tenantId, full: true });
    const next = await fetchRound(pipeline.deps(), followUps[0]!, quiet);
    expect(next.kind).toBe('completed');
    const [run] = await pipeline.deps().runs.list(tenantId, 1);
    expect(run?.full).toBe(true);
    // Nothing more was asked for: no further round.
    await requests.clearMessages();
  });

  it('a full reconciliation that resumes a dead fetcher’s incremental round is followed by a full round', async () => {
    const deps = pipeline.deps();
    const dying = interceptedSource(deps, () => {
      throw new Error('process killed');
    });
    await expect(fetchRound(dying, syncRequest(tenantId), quiet)).rejects.toThrow('process killed');
    const { cursor } = await deps.syncState.readCursor(tenantId);
    expect(cursor.round?.full).toBe(false);
    // The full request takes the lease and finishes the incremental round in flight first.
    expect((await fetchRound(pipeline.deps(), syncRequest(tenantId, { full: true }), quiet)).kind).toBe(
      'completed',
    );
    const followUps = await peekSyncRequests(requests);
    expect(followUps.map((r) => r.full)).toEqual([true]);
    await requests.clearMessages();
  });

  it('a request that finds the lease released as it marks it dirty runs the round itself', async () => {
    const deps = pipeline.deps();
    const holder = await deps.syncState.acquireLease(tenantId);
    expect(holder).toBeDefined();
    let released = false;
    // The holder finishes exactly between the request's failed acquisition and its dirty mark.
    const racing = withSyncStateHook(deps, 'markDirty', async () => {
      if (released) return;
      released = true;
      await deps.syncState.releaseLease(tenantId, holder!);
    });
    const result = await fetchRound(racing, syncRequest(tenantId), quiet);
    expect(released).toBe(true);
    expect(result.kind).toBe('completed');
    const lease = await deps.tables.get('syncState', tenantId, 'lease');
    expect(lease).toMatchObject({ holder: '', dirty: false });
    expect(await peekSyncRequests(requests)).toEqual([]);
  });

  it('the round lease lasts 4 s by default, is renewed while the fetcher works, and its epoch grows on every acquisition', async () => {
    expect(readAppSettings({ AzureWebJobsStorage: 'UseDevelopmentStorage=true' }).SYNC_LEASE_SECONDS).toBe(4);

    const deps = pipeline.deps();
    const shortLease = new SyncStateStore(deps.tables, 2);
    const withShortLease: PipelineDeps = { ...deps, syncState: shortLease };
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let reached!: () => void;
    const busy = new Promise<void>((resolve) => (reached = resolve));
    const before = await deps.tables.get('syncState', tenantId, 'lease');
    const running = fetchRound(
      pausedOnSecondPage(withShortLease, gate, reached),
      syncRequest(tenantId),
      quiet,
    );
    await busy;
    // Paused past its 2 s lease (a long throttling wait): the lease is still its own.
    await sleep(3_000);
    expect(await shortLease.acquireLease(tenantId)).toBeUndefined();
    open();
    expect((await running).kind).toBe('completed');

    const first = await shortLease.acquireLease(tenantId);
    expect(first!.epoch).toBe(Number(before?.epoch ?? 0) + 2);
    const keeper = shortLease.keepAlive(tenantId, first!);
    await sleep(2_500);
    expect(keeper.lost).toBe(false);
    expect(await shortLease.acquireLease(tenantId)).toBeUndefined();
    await keeper.stop();
    await shortLease.releaseLease(tenantId, first!);

    // A holder that stopped renewing loses the lease to the next one, and learns it at its next renewal.
    const stale = await shortLease.acquireLease(tenantId);
    await sleep(2_200);
    const successor = await shortLease.acquireLease(tenantId);
    expect(successor!.epoch).toBe(stale!.epoch + 1);
    const staleKeeper = shortLease.keepAlive(tenantId, stale!);
    for (let i = 0; i < 30 && !staleKeeper.lost; i += 1) await sleep(100);
    expect(staleKeeper.lost).toBe(true);
    expect(() => staleKeeper.assertHeld()).toThrow(LeaseLostError);
    await staleKeeper.stop();
    await expect(shortLease.renewLease(tenantId, stale!)).rejects.toThrow(LeaseLostError);
    expect(await shortLease.releaseLease(tenantId, successor!)).toEqual({ again: false, full: false });
  });
});
