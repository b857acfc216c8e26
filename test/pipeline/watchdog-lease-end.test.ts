/**
 * A live fetcher renews its round's lease every third of it. A watchdog tick that finds the lease not
 * renewed for longer, and ending before the next tick, waits for its end and resumes the round then,
 * instead of a tick later: under chaos, each fetcher killed cost up to a whole tick (2 s) more.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { QueueClient } from '@azure/storage-queue';
import { describe, expect, it } from 'vitest';

import { isFinished } from '../../local/environment/run-watcher.js';
import { QUEUES } from '../../src/adapters/storage/storage-names.js';
import { fetchRound } from '../../src/usecases/fetch-round.js';
import { syncRequestSchema } from '../../src/usecases/messages.js';
import { watchRuns } from '../../src/usecases/watch-runs.js';
import { waitFor } from './notification-probes.js';
import { pipelineForDescribe } from './pipeline-harness.js';
import { quiet, syncRequest } from './pipeline-probes.js';

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
    const crashing = {
      ...deps,
      directorySourceFor: async (settings: Parameters<typeof deps.directorySourceFor>[0]) => {
        const real = await deps.directorySourceFor(settings);
        let pages = 0;
        return {
          initialDeltaUrl: real.initialDeltaUrl.bind(real),
          get requestCount() {
            return real.requestCount;
          },
          getDeltaPage: async (url: string) => {
            if (pages++ >= 1) throw new Error('process killed');
            return real.getDeltaPage(url);
          },
        };
      },
    };
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
    const { peekedMessageItems } = await requests.peekMessages({ numberOfMessages: 32 });
    const queued = peekedMessageItems.map((m) =>
      syncRequestSchema.parse(JSON.parse(Buffer.from(m.messageText, 'base64').toString('utf8'))),
    );
    expect(queued.map((r) => r.tenantId)).toEqual([tenantId]);

    pipeline.rounds.push(pipeline.control.snapshot());
    await pipeline.env.startHost();
    // The resumed run, not the latest: the host's own watchdog may ask for the round too before its
    // fetcher takes the lease, and that request is coalesced into a round after this one, which can
    // start (and end, a no-op) once this round's fetch is done, before its chunks are all applied.
    const run = await waitFor(
      'the resumed run to end',
      async () => {
        const row = await deps.runs.get(resumed);
        return isFinished(row) ? row : undefined;
      },
      120_000,
    );
    expect(run.state).toBe('completed');
    expect(await pipeline.differences()).toEqual([]);
  }, 120_000);
});
