import { setTimeout as sleep } from 'node:timers/promises';

import { QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { QUEUES } from '../../src/adapters/storage/storage-names.js';
import { fetchRound } from '../../src/usecases/fetch-round.js';
import type { SyncRequest } from '../../src/usecases/messages.js';
import { watchRuns } from '../../src/usecases/watch-runs.js';
import { PipelineUnderTest } from './pipeline-harness.js';
import { interceptedSource, peekSyncRequests, quiet } from './pipeline-probes.js';

describe('one round per tenant, coalescing and the scheduler', () => {
  let pipeline: PipelineUnderTest;
  let requests: QueueClient;

  beforeAll(async () => {
    pipeline = await PipelineUnderTest.start({
      standin: { users: 200, seed: 3 },
      settings: { SYNC_LEASE_SECONDS: '10' },
      schedule: { kind: 'manual' },
      startHost: false,
    });
    requests = new QueueClient(pipeline.env.azurite.connectionString, QUEUES.syncRequests);
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  it('a request while a round holds the lease is coalesced into one more round after it', async () => {
    const deps = pipeline.deps();
    const tenantId = pipeline.env.tenantId;
    const lease = await deps.syncState.acquireLease(tenantId);
    expect(lease).toBeDefined();
    const request: SyncRequest = {
      type: 'sync-request',
      tenantId,
      trigger: 'notification',
      full: false,
      requestedAt: new Date().toISOString(),
    };
    for (let i = 0; i < 5; i += 1) expect((await fetchRound(deps, request, quiet)).kind).toBe('coalesced');
    // Released with the 'dirty' mark: the holder then asks for exactly one more round.
    expect(await deps.syncState.releaseLease(tenantId, lease!)).toEqual({ again: true, full: false });
    const next = await deps.syncState.acquireLease(tenantId);
    expect(next).toBeDefined();
    expect(await deps.syncState.releaseLease(tenantId, next!)).toEqual({ again: false, full: false });
  });

  it('a round whose fetcher died is resumed by the watchdog once its lease expired, not before', async () => {
    const deps = pipeline.deps();
    const tenantId = pipeline.env.tenantId;
    await requests.clearMessages();
    // The lease from the previous test is held by nobody alive; give it a round in flight.
    const { cursor } = await deps.syncState.readCursor(tenantId);
    expect(cursor.round).toBeNull();
    const dying: SyncRequest = {
      type: 'sync-request',
      tenantId,
      trigger: 'initial',
      full: false,
      requestedAt: new Date().toISOString(),
    };
    await sleep(10_500);
    // The process dies asking for its second delta page.
    const crashing = interceptedSource(deps, (page) => {
      if (page > 1) throw new Error('process killed');
    });
    await expect(fetchRound(crashing, dying, quiet)).rejects.toThrow('process killed');
    const { cursor: crashed } = await deps.syncState.readCursor(tenantId);
    const resumed = { tenantId, runId: crashed.round!.runId, runKey: crashed.round!.runKey };
    // A killed process never releases its lease: take it again as that dead fetcher would hold it.
    expect(await deps.syncState.acquireLease(tenantId)).toBeDefined();

    expect((await watchRuns(deps, quiet)).resumedRounds).toEqual([]);
    await sleep(10_500);
    expect((await watchRuns(deps, quiet)).resumedRounds).toEqual([tenantId]);
    expect((await peekSyncRequests(requests)).map((r) => r.tenantId)).toEqual([tenantId]);

    pipeline.rounds.push(pipeline.control.snapshot());
    await pipeline.env.startHost();
    const run = await pipeline.waitForRunOf(resumed);
    expect(run.state).toBe('completed');
    expect(await pipeline.differences()).toEqual([]);
  });

  it("the watchdog's request to resume a round starts no round of its own: dropped while a round runs, and nothing when none is in progress", async () => {
    const deps = pipeline.deps();
    const tenantId = pipeline.env.tenantId;
    await pipeline.env.host().stop();
    // Two watchdog ticks can both find the round stalled before the first request is served: the
    // second is served once the first resumed the round.
    const resume: SyncRequest = {
      type: 'sync-request',
      tenantId,
      trigger: 'schedule',
      full: false,
      resume: true,
      requestedAt: new Date().toISOString(),
    };
    const runsBefore = await deps.runs.list(tenantId, 50);

    // Served after the round resumed and ended: no round in progress, so no run.
    expect((await fetchRound(deps, resume, quiet)).kind).toBe('nothing-to-resume');
    expect(await deps.runs.list(tenantId, 50)).toHaveLength(runsBefore.length);

    // Served while the resumed round holds the lease: no dirty mark, so no follow-up round.
    const lease = await deps.syncState.acquireLease(tenantId);
    expect(lease).toBeDefined();
    expect((await fetchRound(deps, resume, quiet)).kind).toBe('coalesced');
    expect(await deps.syncState.releaseLease(tenantId, lease!)).toEqual({ again: false, full: false });
    expect(await deps.runs.list(tenantId, 50)).toHaveLength(runsBefore.length);
  });
});
