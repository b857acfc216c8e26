import { QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { QUEUES } from '../../src/adapters/storage/storage-names.js';
import { userBucketOf } from '../../src/domain/bucket.js';
import { MAX_BUCKETS_PER_CHUNK } from '../../src/usecases/change-publisher.js';
import { fetchRound } from '../../src/usecases/fetch-round.js';
import type { SyncRequest } from '../../src/usecases/messages.js';
import { PipelineUnderTest } from './pipeline-harness.js';
import { drainQueue, quiet, shuffled } from './pipeline-probes.js';
import { mutateTenant } from './tenant-mutations.js';

describe('at-least-once delivery of directory changes', () => {
  let pipeline: PipelineUnderTest;
  let changes: QueueClient;

  beforeAll(async () => {
    pipeline = await PipelineUnderTest.start({ standin: { users: 600, seed: 23 }, startHost: false });
    changes = new QueueClient(pipeline.env.azurite.connectionString, QUEUES.directoryChanges);
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  /** Runs the fetcher here (the host is not consuming), then delivers each change message twice, shuffled. */
  async function roundWithEveryMessageTwiceShuffled(trigger: SyncRequest['trigger'], seed: number) {
    const afterRunKey = await pipeline.latestRunKey();
    pipeline.rounds.push(pipeline.control.snapshot());
    const request: SyncRequest = {
      type: 'sync-request',
      tenantId: pipeline.env.tenantId,
      trigger,
      full: false,
      requestedAt: new Date().toISOString(),
    };
    const fetched = await fetchRound(pipeline.deps(), request, quiet);
    expect(fetched.kind).toBe('completed');
    const bodies = await drainQueue(changes);
    expect(bodies.length).toBeGreaterThan(0);
    for (const body of shuffled([...bodies, ...bodies], seed)) await changes.sendMessage(body);
    return { afterRunKey, messages: bodies.length };
  }

  it('the initial round, every message delivered twice in shuffled order, gives the same tables as the oracle', async () => {
    const { afterRunKey } = await roundWithEveryMessageTwiceShuffled('initial', 7);
    await pipeline.env.startHost();
    const run = await pipeline.waitForNextRun(afterRunKey);
    expect(run.state).toBe('completed');
    expect(await pipeline.differences()).toEqual([]);
  });

  it('an incremental round after mutations, delivered twice and shuffled, gives the same tables as the oracle', async () => {
    await pipeline.env.host().stop();
    mutateTenant(pipeline.control, 99, 40);
    const { afterRunKey } = await roundWithEveryMessageTwiceShuffled('manual', 13);
    await pipeline.env.startHost();
    const run = await pipeline.waitForNextRun(afterRunKey);
    expect(run.state).toBe('completed');
    expect(await pipeline.differences()).toEqual([]);
  });

  it('an incremental round of renames in 30 buckets, packed in few messages each delivered twice, counts each person once', async () => {
    await pipeline.env.host().stop();
    const { buckets } = pipeline.deps();
    const renamed = new Map<number, string>();
    const { people } = await pipeline.directory();
    // Users whose person is in the directory (not deactivated or removed): a rename updates each.
    const inDirectory = (status: string | undefined): boolean => status === 'created' || status === 'active';
    for (const user of pipeline.control.snapshot().users) {
      if (!inDirectory(people.get(user.id)?.status)) continue;
      const bucket = userBucketOf(pipeline.env.tenantId, user.id, buckets);
      if (!renamed.has(bucket)) renamed.set(bucket, user.id);
      if (renamed.size === 30) break;
    }
    [...renamed.values()].forEach((id, i) => pipeline.control.rename(id, { displayName: `Twice ${i}` }));
    const { afterRunKey, messages } = await roundWithEveryMessageTwiceShuffled('manual', 17);
    expect(messages).toBeLessThanOrEqual(Math.ceil(30 / MAX_BUCKETS_PER_CHUNK) + 1);
    await pipeline.env.startHost();
    const run = await pipeline.waitForNextRun(afterRunKey);
    expect(run.state).toBe('completed');
    expect(run.counts.updated).toBe(30);
    expect(await pipeline.differences()).toEqual([]);
  });
});
