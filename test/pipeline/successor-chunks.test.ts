/**
 * A fetcher that dies after publishing a flush and before its checkpoint leaves chunks past the
 * checkpoint in the queue. Its successor reads again from the checkpoint and cuts its own flushes:
 * its chunks must not take the dead one's indexes, since a chunk index applied once is never applied
 * again (on main the successor's chunks were dropped and ~530 of 928 people were never created).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { fetchRound } from '../../src/usecases/fetch-round.js';
import { PipelineUnderTest } from './pipeline-harness.js';
import { quiet, syncRequest } from './pipeline-probes.js';

describe('a successor fetcher after one that died between publishing and its checkpoint', () => {
  let pipeline: PipelineUnderTest;

  beforeAll(async () => {
    pipeline = await PipelineUnderTest.start({
      standin: { users: 1000, seed: 5 },
      schedule: { kind: 'manual' },
      startHost: false,
    });
  }, 60_000);
  afterAll(async () => {
    await pipeline?.stop();
  });

  it('a first round resumed with other flush boundaries numbers its chunks after the dead fetcher’s, and ends equal to the oracle', async () => {
    const tenantId = pipeline.env.tenantId;
    const request = syncRequest(tenantId, { trigger: 'initial' });
    const base = pipeline.deps();
    const real = base.syncState;
    // The process dies at the first checkpoint after a users flush was published.
    const saveCursor: typeof real.saveCursor = async (id, cursor, lease) => {
      if (cursor.round?.phase === 'users' && cursor.round.chunkIndex > 0) throw new Error('process killed');
      return real.saveCursor(id, cursor, lease);
    };
    const syncState = new Proxy(real, {
      get(target, property) {
        if (property === 'saveCursor') return saveCursor;
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
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

    expect((await fetchRound({ ...base, flushEveryPages: 4 }, request, quiet)).kind).toBe('completed');
    pipeline.rounds.push(pipeline.control.snapshot());
    await pipeline.env.startHost();
    expect((await pipeline.waitForNextRun(undefined)).state).toBe('completed');
    expect(await pipeline.differences()).toEqual([]);
  }, 120_000);
});
