/**
 * A live fetcher renews its round's lease every third of it. A watchdog tick that finds the lease not
 * renewed for longer, and ending before the next tick, waits for its end and resumes the round then,
 * instead of a tick later: under chaos, each fetcher killed cost up to a whole tick (2 s) more.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { QueueClient } from '@azure/storage-queue';
import { describe, expect, it } from 'vitest';

import { QUEUES } from '../../src/adapters/storage/storage-names.js';
import { fetchRound } from '../../src/usecases/fetch-round.js';
import { watchRuns } from '../../src/usecases/watch-runs.js';
import { pipelineForDescribe } from './pipeline-harness.js';
import { interceptedSource, peekSyncRequests, quiet, syncRequest } from './pipeline-probes.js';

const LEASE_SECONDS = 4;

describe('the watchdog and a round whose fetcher died', () => {
  const pipelineOf = pipelineForDescribe({
    standin: { users: 200, seed: 3 },
    settings: { SYNC_LEASE_SECONDS: String(LEASE_SECONDS) },
    schedule: { kind: 'manual' },
    startHost: false,
  });

  it('resumes the round in the tick that finds its lease unrenewed and ending before the next tick', async () => {
    const pipeline = pipelineOf();
    const deps = pipeline.deps();
    const tenantId = pipeline.env.tenantId;
    // The process dies asking for its second delta page.
    const crashing = interceptedSource(deps, (page) => {
      if (page > 1) throw new Error('process killed');
    });
    const request = syncRequest(tenantId, { trigger: 'initial' });
    await expect(fetchRound(crashing, request, quiet)).rejects.toThrow('process killed');
    const { cursor } = await deps.syncState.readCursor(tenantId);
    const resumed = { tenantId, runId: cursor.round!.runId, runKey: cursor.round!.runKey };
    // A killed process never releases its lease: take it again as that dead fetcher would hold it.
    expect(await deps.syncState.acquireLease(tenantId)).toBeDefined();
    // Renewed, its lease would have at least two thirds of it left.
    expect((await watchRuns(deps, quiet)).resumedRounds).toEqual([]);
    await sleep((LEASE_SECONDS * 1000 * 5) / 8);

    expect((await watchRuns(deps, quiet)).resumedRounds).toEqual([tenantId]);
    const requests = new QueueClient(pipeline.env.azurite.connectionString, QUEUES.syncRequests);
    expect((await peekSyncRequests(requests)).map((r) => r.tenantId)).toEqual([tenantId]);

    pipeline.rounds.push(pipeline.control.snapshot());
    await pipeline.env.startHost();
    const run = await pipeline.waitForRunOf(resumed);
    expect(run.state).toBe('completed');
    expect(await pipeline.differences()).toEqual([]);
  }, 120_000);
});
