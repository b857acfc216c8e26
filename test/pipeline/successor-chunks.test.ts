/**
 * A fetcher that dies after publishing a flush and before its checkpoint leaves chunks past the
 * checkpoint in the queue. Its successor reads again from the checkpoint and cuts its own flushes:
 * its chunks must not take the dead one's indexes, since a chunk index applied once is never applied
 * again (on main the successor's chunks were dropped and ~530 of 928 people were never created).
 */
import { describe, expect, it } from 'vitest';

import { fetchRound } from '../../src/usecases/fetch-round.js';
import { pipelineForDescribe } from './pipeline-harness.js';
import { quiet, syncRequest, withMethod } from './pipeline-probes.js';

describe.each([
  { successor: 'the test, before any chunk is applied', byWatchdog: false },
  { successor: 'the watchdog, after the host applied the dead fetcher’s chunks', byWatchdog: true },
])(
  'a successor fetcher after one that died between publishing and its checkpoint (successor: $successor)',
  ({ byWatchdog }) => {
    const pipelineOf = pipelineForDescribe({
      standin: { users: 1000, seed: 5 },
      schedule: { kind: 'manual' },
      startHost: false,
    });

    it('a first round resumed with other flush boundaries numbers its chunks after the dead fetcher’s, ends equal to the oracle, and counts each person created once', async () => {
      const pipeline = pipelineOf();
      const tenantId = pipeline.env.tenantId;
      const request = syncRequest(tenantId, { trigger: 'initial' });
      const base = pipeline.deps();
      const real = base.syncState;
      // The process dies at the first checkpoint after a users flush was published.
      const syncState = withMethod(real, 'saveCursor', (saveCursor) => async (id, cursor, lease) => {
        if (cursor.round?.phase === 'users' && cursor.round.chunkIndex > 0) throw new Error('process killed');
        return saveCursor(id, cursor, lease);
      });
      await expect(fetchRound({ ...base, flushEveryPages: 1, syncState }, request, quiet)).rejects.toThrow(
        'process killed',
      );
      const { cursor } = await real.readCursor(tenantId);
      const ref = { tenantId, runId: cursor.round!.runId };
      const orphans = (await base.runs.listPublished(ref)).filter(
        (c) => c.chunkIndex >= cursor.round!.chunkIndex,
      );
      expect(orphans.length).toBeGreaterThan(0);

      pipeline.rounds.push(pipeline.control.snapshot());
      if (byWatchdog) {
        // The host applies the orphans, and its watchdog resumes the round (the dead fetcher's lease is gone).
        await pipeline.env.startHost();
      } else {
        expect((await fetchRound({ ...base, flushEveryPages: 4 }, request, quiet)).kind).toBe('completed');
        await pipeline.env.startHost();
      }
      const run = await pipeline.waitForNextRun(undefined);
      expect(run.state).toBe('completed');
      expect(await pipeline.differences()).toEqual([]);
      // Each person is created once, by whichever copy of its changes came first; the other copy is a replay.
      const directory = await pipeline.directory();
      expect(run.counts.created).toBe(directory.people.size);
      expect(run.counts.updated ?? 0).toBe(0);
    }, 120_000);
  },
);
