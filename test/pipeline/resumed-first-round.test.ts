/**
 * A tenant's first round holds every membership (read in the groups phase) until its user is read, and
 * publishes it with the user. A fetcher that dies in the users phase leaves a successor that resumes at
 * the checkpoint: the memberships of users published before it went out already, and published again
 * they are extra chunks, one per bucket, each reading the rows of a share of the tenant (on main, a
 * 20,000-user chaos run cut 321 chunks for 257 after one resume).
 */
import { describe, expect, it } from 'vitest';

import { QUEUES } from '../../src/adapters/storage/storage-names.js';
import { fetchRound } from '../../src/usecases/fetch-round.js';
import type { DirectoryChunk } from '../../src/usecases/messages.js';
import { loadChunkChanges } from '../../src/usecases/reconcile-message.js';
import { pipelineForDescribe } from './pipeline-harness.js';
import { quiet, syncRequest, withMethod } from './pipeline-probes.js';

describe('a first round resumed after its fetcher died in the users phase', () => {
  const pipelineOf = pipelineForDescribe({
    standin: { users: 1000, seed: 5 },
    schedule: { kind: 'manual' },
    startHost: false,
  });

  it('publishes no membership again for users published before its checkpoint, and ends equal to the oracle with each person created once', async () => {
    const pipeline = pipelineOf();
    const tenantId = pipeline.env.tenantId;
    const request = syncRequest(tenantId, { trigger: 'initial' });
    const base = pipeline.deps();
    const usersFlushes: DirectoryChunk[][] = [];
    // The process dies as it starts sending the fourth users flush (recorded and checkpointed).
    const dying = withMethod(base.queues, 'sendAll', (sendAll) => async (queue, messages, concurrency) => {
      const chunks = messages as DirectoryChunk[];
      if (queue === QUEUES.directoryChanges && chunks.some((c) => c.partition.startsWith('users:'))) {
        if (usersFlushes.length === 3) throw new Error('process killed');
        usersFlushes.push(chunks);
      }
      return sendAll(queue, messages, concurrency);
    });
    await expect(
      fetchRound({ ...base, flushEveryPages: 1, flushEveryMs: 600_000, queues: dying }, request, quiet),
    ).rejects.toThrow('process killed');
    const publishedBefore = new Set<string>();
    for (const chunk of usersFlushes.flat()) {
      for (const change of await loadChunkChanges(base, chunk)) {
        if (change.kind === 'user') publishedBefore.add(change.id);
      }
    }
    expect(publishedBefore.size).toBeGreaterThan(0);

    const successorChunks: DirectoryChunk[] = [];
    const watching = withMethod(base.queues, 'sendAll', (sendAll) => async (queue, messages, concurrency) => {
      if (queue === QUEUES.directoryChanges) successorChunks.push(...(messages as DirectoryChunk[]));
      return sendAll(queue, messages, concurrency);
    });
    pipeline.rounds.push(pipeline.control.snapshot());
    expect((await fetchRound({ ...base, queues: watching }, request, quiet)).kind).toBe('completed');
    const republishedMemberships: string[] = [];
    for (const chunk of successorChunks) {
      for (const change of await loadChunkChanges(base, chunk)) {
        if (change.kind === 'edge' && publishedBefore.has(change.memberId))
          republishedMemberships.push(`${change.groupId}|${change.memberId}`);
      }
    }
    expect(republishedMemberships).toEqual([]);

    await pipeline.env.startHost();
    const run = await pipeline.waitForNextRun(undefined);
    expect(run.state).toBe('completed');
    expect(await pipeline.differences()).toEqual([]);
    const directory = await pipeline.directory();
    expect(run.counts.created).toBe(directory.people.size);
    expect(run.counts.updated ?? 0).toBe(0);
  }, 120_000);
});
