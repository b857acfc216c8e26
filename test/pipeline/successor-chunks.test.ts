/**
 * A fetcher records a flush's messages, checkpoints past them, and only then sends them. One that dies
 * between recording and its checkpoint leaves recorded messages that were never sent, and a checkpoint
 * before the pages they carry. Its successor reads those pages again and cuts its own flushes: the dead
 * fetcher's chunks are withdrawn (reported applied with nothing, never sent), and its own take indexes
 * after them, since a chunk index applied once is never applied again (on an earlier main the
 * successor's chunks took the same indexes, were dropped, and ~530 of 928 people were never created).
 * On main, the withdrawn chunks were sent much later by the watchdog, as chunks a dead host had taken,
 * and every chunk of the resumed round read rows, since two copies of the same users were in flight.
 */
import { QueueClient } from '@azure/storage-queue';
import { describe, expect, it } from 'vitest';

import { QUEUES } from '../../src/adapters/storage/storage-names.js';
import { fetchRound } from '../../src/usecases/fetch-round.js';
import { waitFor } from './notification-probes.js';
import { pipelineForDescribe } from './pipeline-harness.js';
import { quiet, syncRequest, withMethod } from './pipeline-probes.js';

describe.each([
  { successor: 'the test, before any chunk is applied', byWatchdog: false },
  { successor: 'the watchdog of a host that applies the chunks meanwhile', byWatchdog: true },
])(
  'a successor fetcher after one that died between recording a flush and its checkpoint (successor: $successor)',
  ({ byWatchdog }) => {
    const pipelineOf = pipelineForDescribe({
      standin: { users: 1000, seed: 5 },
      schedule: { kind: 'manual' },
      startHost: false,
    });

    it('withdraws the chunks its predecessor recorded and never sent, numbers its own after them, and the run ends equal to the oracle with each person created once and no chunk sent twice', async () => {
      const pipeline = pipelineOf();
      const tenantId = pipeline.env.tenantId;
      const request = syncRequest(tenantId, { trigger: 'initial' });
      const base = pipeline.deps();
      const real = base.syncState;
      // The process dies at the first checkpoint after a users flush was recorded.
      const syncState = withMethod(real, 'saveCursor', (saveCursor) => async (id, cursor, lease) => {
        if (cursor.round?.phase === 'users' && cursor.round.chunkIndex > 0) throw new Error('process killed');
        return saveCursor(id, cursor, lease);
      });
      await expect(fetchRound({ ...base, flushEveryPages: 1, syncState }, request, quiet)).rejects.toThrow(
        'process killed',
      );
      const { cursor } = await real.readCursor(tenantId);
      const ref = { tenantId, runId: cursor.round!.runId, runKey: cursor.round!.runKey };
      const orphans = (await base.runs.listPublished(ref))
        .filter((c) => c.chunkIndex >= cursor.round!.chunkIndex)
        .map((c) => c.chunkIndex);
      expect(orphans.length).toBeGreaterThan(0);
      // Never sent: the queue holds none of them.
      const changes = new QueueClient(pipeline.env.azurite.connectionString, QUEUES.directoryChanges);
      const { peekedMessageItems } = await changes.peekMessages({ numberOfMessages: 32 });
      const queued = peekedMessageItems.map(
        (m) =>
          (JSON.parse(Buffer.from(m.messageText, 'base64').toString()) as { chunkIndex: number }).chunkIndex,
      );
      expect(queued.filter((i) => orphans.includes(i))).toEqual([]);

      pipeline.rounds.push(pipeline.control.snapshot());
      if (byWatchdog) {
        // The host applies what was sent, and its watchdog resumes the round (the dead fetcher's lease is gone).
        await pipeline.env.startHost();
      } else {
        expect((await fetchRound({ ...base, flushEveryPages: 4 }, request, quiet)).kind).toBe('completed');
        for (const chunkIndex of orphans) {
          expect(await base.runs.chunkReport(ref, chunkIndex)).toMatchObject({
            state: 'applied',
            counts: {},
          });
        }
        await pipeline.env.startHost();
      }
      const run = await pipeline.waitForNextRun(undefined);
      expect(run.state).toBe('completed');
      expect(await pipeline.differences()).toEqual([]);
      const directory = await pipeline.directory();
      expect(run.counts.created).toBe(directory.people.size);
      expect(run.counts.updated ?? 0).toBe(0);
      // No chunk needed a second copy: the withdrawn ones were never sent, by anyone.
      const published = await base.runs.listPublished(ref);
      expect(published.filter((c) => c.republished > 0).map((c) => c.chunkIndex)).toEqual([]);
      // The successor's own chunks are numbered after the withdrawn ones (the checkpoint was at 0).
      const successors = published.filter((c) => !orphans.includes(c.chunkIndex)).map((c) => c.chunkIndex);
      expect(Math.min(...successors)).toBe(Math.max(...orphans) + 1);
    }, 120_000);
  },
);

/**
 * An incremental round sends its changes in one last flush, then saves its delta links. A fetcher that
 * dies between the two leaves a round whose changes are all in flight: on main its successor read the
 * round's pages again from the old delta links and published every change a second time.
 */
describe('an incremental round whose fetcher died after sending its changes, before saving its delta links', () => {
  const pipelineOf = pipelineForDescribe({ standin: { users: 300, seed: 5 }, schedule: { kind: 'manual' } });

  it('is not read again: its successor publishes nothing more, and each changed person is counted updated once', async () => {
    const pipeline = pipelineOf();
    expect((await pipeline.sync('initial')).state).toBe('completed');
    const tenantId = pipeline.env.tenantId;
    const base = pipeline.deps();
    // People of the directory: users in scope.
    const renamed = [...(await pipeline.directory()).people.keys()].slice(0, 20);
    renamed.forEach((id, i) => pipeline.control.rename(id, { displayName: `Renamed Once ${i}` }));
    pipeline.recordRound(pipeline.control.snapshot());
    // The process dies as it saves the cursor with the round ended (its messages all sent).
    const syncState = withMethod(base.syncState, 'saveCursor', (saveCursor) => async (id, cursor, lease) => {
      if (cursor.round === null) throw new Error('process killed');
      return saveCursor(id, cursor, lease);
    });
    await expect(fetchRound({ ...base, syncState }, syncRequest(tenantId), quiet)).rejects.toThrow(
      'process killed',
    );
    const { cursor } = await base.syncState.readCursor(tenantId);
    const ref = { tenantId, runId: cursor.round!.runId, runKey: cursor.round!.runKey };
    const publishedByTheDead = (await base.runs.listPublished(ref)).length;
    expect(publishedByTheDead).toBeGreaterThan(0);

    // The host's watchdog resumes the round (its lease is gone) and ends it; the run ends too.
    await waitFor('the resumed round to end', async () =>
      (await base.syncState.readCursor(tenantId)).cursor.round === null ? true : undefined,
    );
    const run = await pipeline.waitForRunOf(ref);
    expect(run.state).toBe('completed');
    expect((await base.runs.listPublished(ref)).length).toBe(publishedByTheDead);
    expect(await pipeline.differences()).toEqual([]);
    expect(Number(run.updated)).toBe(renamed.length);
  }, 120_000);
});
