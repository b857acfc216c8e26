/**
 * A host runs the fetcher and reconcilers side by side, so one kill can stop both: the fetcher while it
 * sends a flush's messages, and a reconciler that had just decided one of those chunks (its counts
 * recorded) and had not written it yet. If the fetcher's successor reads those pages again, its own
 * chunks carry the same users and decide them from rows the dead chunk never wrote: each person of that
 * chunk is counted created twice (on main, `created` exceeded the people by the chunk's users).
 */
import { QueueClient } from '@azure/storage-queue';
import { describe, expect, it } from 'vitest';

import { encodeMessage } from '../../src/adapters/storage/queue-gateway.js';
import { QUEUES, TABLES } from '../../src/adapters/storage/storage-names.js';
import { fetchRound } from '../../src/usecases/fetch-round.js';
import type { DirectoryChunk } from '../../src/usecases/messages.js';
import { reconcileMessage } from '../../src/usecases/reconcile-message.js';
import { pipelineForDescribe } from './pipeline-harness.js';
import { drainChunks, quiet, syncRequest, withMethod } from './pipeline-probes.js';

/**
 * Sends a first round with a flush every `flushEveryPages` pages, kills the fetcher halfway through
 * sending its first users flush and a reconciler that decided one of the sent chunks, then lets a
 * successor and the host finish the round.
 */
function killedWhileSending(flushEveryPages: number): void {
  const pipelineOf = pipelineForDescribe({
    standin: { users: 1000, seed: 5 },
    schedule: { kind: 'manual' },
    startHost: false,
  });

  it('its successor reads none of those pages again, sends what was not sent, and each person is counted created once', async () => {
    const pipeline = pipelineOf();
    const tenantId = pipeline.env.tenantId;
    const request = syncRequest(tenantId, { trigger: 'initial' });
    const base = pipeline.deps();
    // The process dies halfway through sending the first users flush's messages.
    let flush: DirectoryChunk[] = [];
    let sent: DirectoryChunk[] | undefined;
    const queues = withMethod(base.queues, 'sendAll', (sendAll) => async (queue, messages, concurrency) => {
      const chunks = messages as DirectoryChunk[];
      if (sent || queue !== QUEUES.directoryChanges || !chunks.some((c) => c.partition.startsWith('users:')))
        return sendAll(queue, messages, concurrency);
      flush = chunks;
      sent = chunks.slice(0, Math.ceil(chunks.length / 2));
      await sendAll(queue, sent, concurrency);
      throw new Error('process killed');
    });
    await expect(
      fetchRound({ ...base, flushEveryPages, flushEveryMs: 600_000, queues }, request, quiet),
    ).rejects.toThrow('process killed');
    // A reconciler of the same host had taken one of the sent chunks (its message gone from the queue
    // for the host's 10 minutes), decided it, and died before its writes.
    const decidedThenKilled = sent!.find((c) => c.partition.startsWith('users:'))!;
    const changes = new QueueClient(pipeline.env.azurite.connectionString, QUEUES.directoryChanges);
    for (const chunk of await drainChunks(changes)) {
      if (chunk.chunkIndex !== decidedThenKilled.chunkIndex) await changes.sendMessage(encodeMessage(chunk));
    }
    const tables = withMethod(base.tables, 'transact', (transact) => async (table, actions, inFlight) => {
      if (table === TABLES.people) throw new Error('process killed');
      return transact(table, actions, inFlight);
    });
    await expect(reconcileMessage({ ...base, tables }, decidedThenKilled)).rejects.toThrow('process killed');
    const ref = { tenantId, runId: decidedThenKilled.runId, runKey: decidedThenKilled.runKey };
    expect((await base.runs.chunkReport(ref, decidedThenKilled.chunkIndex))?.state).toBe('decided');

    // The watchdog publishes the dead reconciler's chunk again once its heartbeat is stale.
    pipeline.rounds.push(pipeline.control.snapshot());
    expect((await fetchRound(base, request, quiet)).kind).toBe('completed');
    // It read no page of the dead fetcher's again, so it withdrew none of its chunks: the only report
    // is the dead reconciler's decision.
    expect((await base.runs.listChunks(ref)).map((r) => r.chunkIndex)).toEqual([
      decidedThenKilled.chunkIndex,
    ]);
    // It sent the flush's messages its predecessor had not; the one a reconciler began is the watchdog's.
    const republished = new Map(
      (await base.runs.listPublished(ref)).map((c) => [c.chunkIndex, c.republished] as const),
    );
    const unsent = flush.filter((c) => !sent!.includes(c)).map((c) => c.chunkIndex);
    expect(unsent.length).toBeGreaterThan(0);
    expect(unsent.map((i) => republished.get(i))).toEqual(unsent.map(() => 1));
    expect(republished.get(decidedThenKilled.chunkIndex)).toBe(0);
    await pipeline.env.startHost();
    const run = await pipeline.waitForNextRun(undefined);
    expect(run.state).toBe('completed');
    expect(await pipeline.differences()).toEqual([]);
    const directory = await pipeline.directory();
    expect(run.counts.created).toBe(directory.people.size);
    expect(run.counts.updated ?? 0).toBe(0);
  }, 120_000);
}

describe('a fetcher killed while it sends a flush in the middle of the users phase, with a reconciler of that flush', () => {
  killedWhileSending(1);
});

// One flush for the whole users phase: the one at its end, after which the round moves to its next phase.
describe("a fetcher killed while it sends the users phase's last flush, with a reconciler of that flush", () => {
  killedWhileSending(1000);
});
