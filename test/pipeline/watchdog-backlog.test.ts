import { QueueClient } from '@azure/storage-queue';
import { describe, expect, it } from 'vitest';

import { decodeQueueMessage } from '../../local/host/queue-message-encoding.js';
import { newRunRef } from '../../src/adapters/storage/run-store.js';
import { QUEUES, TABLES } from '../../src/adapters/storage/storage-names.js';
import { fetchRound } from '../../src/usecases/fetch-round.js';
import { recordFetchDone } from '../../src/usecases/finalize-run.js';
import {
  directoryChunkSchema,
  type RunEvent,
  runEventSchema,
  type SyncRequest,
} from '../../src/usecases/messages.js';
import type { PipelineDeps } from '../../src/usecases/pipeline-deps.js';
import { WATCHDOG, watchRuns } from '../../src/usecases/watch-runs.js';
import { pipelineForDescribe, type PipelineUnderTest } from './pipeline-harness.js';
import { quiet, withMethod } from './pipeline-probes.js';

/** A pipeline with no host (the test plays the hosts), started for the enclosing describe. */
function startsPipeline(): () => PipelineUnderTest {
  return pipelineForDescribe({
    standin: { users: 300, seed: 5 },
    schedule: { kind: 'manual' },
    startHost: false,
  });
}

/** A first round fetched and published, no host running: the run knows how many chunks it has. */
async function fetchedRound(pipeline: PipelineUnderTest): Promise<Extract<RunEvent, { type: 'fetch-done' }>> {
  const deps = pipeline.deps();
  const tenantId = pipeline.env.tenantId;
  const request: SyncRequest = {
    type: 'sync-request',
    tenantId,
    trigger: 'initial',
    full: true,
    requestedAt: new Date().toISOString(),
  };
  expect((await fetchRound(deps, request, quiet)).kind).toBe('completed');
  // No host runs: the finalizer's part is done here (the run learns how many chunks it has).
  const runEvents = new QueueClient(pipeline.env.azurite.connectionString, QUEUES.runEvents);
  const { receivedMessageItems } = await runEvents.receiveMessages({ numberOfMessages: 32 });
  const events = receivedMessageItems.map((m) =>
    runEventSchema.parse(JSON.parse(decodeQueueMessage(m.messageText, 'base64') ?? 'null')),
  );
  const done = events.find((e): e is Extract<RunEvent, { type: 'fetch-done' }> => e.type === 'fetch-done');
  expect(done).toBeDefined();
  await recordFetchDone(deps, done!);
  expect(done!.chunksTotal).toBeGreaterThan(1);
  return done!;
}

/**
 * Takes up to `n` messages off the directory-changes queue, as a host does (invisible for 10 minutes,
 * not deleted), and returns their chunk indexes; `n` omitted: every message there is.
 */
async function takeChunks(queue: QueueClient, n?: number): Promise<number[]> {
  const indexes: number[] = [];
  for (;;) {
    const want = n === undefined ? 32 : Math.min(32, n - indexes.length);
    if (want <= 0) return indexes;
    const { receivedMessageItems } = await queue.receiveMessages({
      numberOfMessages: want,
      visibilityTimeout: 600,
    });
    for (const m of receivedMessageItems)
      indexes.push(
        directoryChunkSchema.parse(JSON.parse(decodeQueueMessage(m.messageText, 'base64') ?? 'null'))
          .chunkIndex,
      );
    if (receivedMessageItems.length === 0 || n !== undefined) return indexes;
  }
}

/** Writes columns of a chunk's row in the run's `published` or `claims` partition (as the pipeline would). */
function recordChunkRow(
  deps: PipelineDeps,
  ref: { tenantId: string; runId: string },
  chunkIndex: number,
  partition: 'published' | 'claims',
  columns: Record<string, number>,
): Promise<void> {
  return deps.tables.upsert(
    TABLES.runChunks,
    {
      partitionKey: `${ref.tenantId}|${ref.runId}|${partition}`,
      rowKey: String(chunkIndex).padStart(8, '0'),
      ...columns,
    },
    'Merge',
  );
}

/**
 * The watchdog publishes again a chunk that nobody started only when its message can no longer be in
 * the queue (taken by a host that died). A chunk waiting its turn behind a long backlog is still
 * visible there: it is left alone however long it waits (at 100,000 users a full sync's backlog waits
 * minutes, and publishing it again only doubles the work). The watchdog's clock is moved on; the
 * queue's is not.
 */
describe('the watchdog and a backlog', () => {
  const pipelineOf = startsPipeline();

  it('a chunk waiting in the queue for minutes is not published again; one whose message a dead host took is', async () => {
    const pipeline = pipelineOf();
    const deps = pipeline.deps();
    const done = await fetchedRound(pipeline);

    const later = { ...deps, now: () => new Date(Date.now() + 5 * 60_000) };
    // Five minutes on, every chunk still waits in the queue, visible: nothing is published again.
    expect((await watchRuns(later, quiet)).republished).toBe(0);

    // A host takes every message and dies: they are invisible for 10 minutes, and nobody beats.
    const changes = new QueueClient(pipeline.env.azurite.connectionString, QUEUES.directoryChanges);
    expect(await takeChunks(changes)).toHaveLength(done.chunksTotal);
    // First sight: a live host that has just taken them would beat within the bound; nobody does.
    expect((await watchRuns(later, quiet)).republished).toBe(0);
    const confirmed = { ...deps, now: () => new Date(Date.now() + 5 * 60_000 + WATCHDOG.unclaimedConfirmMs) };
    expect((await watchRuns(confirmed, quiet)).republished).toBe(done.chunksTotal);
    const { peekedMessageItems } = await changes.peekMessages({ numberOfMessages: 32 });
    expect(peekedMessageItems.length).toBe(Math.min(32, done.chunksTotal));
  });
});

/**
 * A chunk whose host died while applying it (its heartbeat stopped) is published again; the new copy
 * then waits its turn behind the backlog. The old heartbeat is that of the dead host, not of the copy:
 * the copy is judged as a chunk nobody has started, so it is neither published again and again nor
 * declared lost while it waits (under chaos, 20,000 users and 5 kills, chunks waiting behind a resumed
 * round's backlog were declared lost, and their users never reached the directory).
 */
describe('the watchdog and a chunk published again behind a backlog', () => {
  const pipelineOf = startsPipeline();

  it('the copy of a chunk whose host died is left to wait in the queue: not published again, not lost', async () => {
    const pipeline = pipelineOf();
    const deps = pipeline.deps();
    const tenantId = pipeline.env.tenantId;
    const done = await fetchedRound(pipeline);
    const ref = { tenantId, runId: done.runId, runKey: done.runKey };

    // A host takes the first message, starts the chunk (one heartbeat) and dies; the rest wait, visible.
    const changes = new QueueClient(pipeline.env.azurite.connectionString, QUEUES.directoryChanges);
    const taken = await changes.receiveMessages({ numberOfMessages: 1, visibilityTimeout: 600 });
    const chunk = directoryChunkSchema.parse(
      JSON.parse(decodeQueueMessage(taken.receivedMessageItems[0]!.messageText, 'base64') ?? 'null'),
    );
    await deps.runs.heartbeat(ref, chunk.chunkIndex);

    const at = (minutes: number) => ({ ...deps, now: () => new Date(Date.now() + minutes * 60_000) });
    // Its heartbeat is stale: it is published again, once.
    expect(await watchRuns(at(1), quiet)).toMatchObject({ republished: 1, lost: 0 });
    // The copy waits behind the backlog for minutes: it is left alone, and nothing is declared lost.
    for (const minutes of [2, 3, 4, 5, 6]) {
      expect(await watchRuns(at(minutes), quiet)).toMatchObject({ republished: 0, lost: 0 });
    }
    expect(await deps.runs.listErrors(ref)).toEqual([]);
  });
});

/**
 * A host takes messages and dies before it starts them, while a backlog still waits in the queue: the
 * age of the oldest visible message cannot tell those messages from ones still waiting. But the queue
 * hands messages out first in, first out: once a chunk published seconds after them has started, they
 * were taken, and are published again (under chaos, 20,000 users and 5 kills, such chunks waited for the
 * whole backlog to drain: 9 s of a 35 s run).
 */
describe('the watchdog and chunks a dead host took before it began them', () => {
  const pipelineOf = startsPipeline();

  it('publishes them again once a chunk published after them has started, and leaves the backlog alone', async () => {
    const pipeline = pipelineOf();
    const deps = pipeline.deps();
    const tenantId = pipeline.env.tenantId;
    const done = await fetchedRound(pipeline);
    expect(done.chunksTotal).toBeGreaterThan(4);
    const t0 = Date.now();
    const changes = new QueueClient(pipeline.env.azurite.connectionString, QUEUES.directoryChanges);
    const take = (n: number): Promise<number[]> => takeChunks(changes, n);
    const record = (chunkIndex: number, columns: Record<string, number>, partition: 'published' | 'claims') =>
      recordChunkRow(deps, { tenantId, runId: done.runId }, chunkIndex, partition, columns);

    // A host takes two messages and dies before it begins them.
    const takenByDeadHost = await take(2);
    // A later flush: one chunk published 5 s on, taken and started by a live host; the rest after it,
    // still waiting in the queue.
    const [started] = await take(1);
    await record(started!, { lastPublishedAt: t0 + 5_000 }, 'published');
    await record(started!, { heartbeatAt: t0 + 6_000 }, 'claims');
    for (let chunkIndex = 0; chunkIndex < done.chunksTotal; chunkIndex += 1) {
      if (chunkIndex === started || takenByDeadHost.includes(chunkIndex)) continue;
      await record(chunkIndex, { lastPublishedAt: t0 + 6_000 }, 'published');
    }

    const at = (ms: number) => ({ ...deps, now: () => new Date(t0 + ms) });
    expect(await watchRuns(at(7_000), quiet)).toMatchObject({ republished: 0, lost: 0 });
    // The live host beats on while it applies the chunk it started.
    await record(started!, { heartbeatAt: t0 + 12_000 }, 'claims');
    const report = await watchRuns(at(7_000 + WATCHDOG.unclaimedConfirmMs), quiet);
    expect(report).toMatchObject({ republished: 2, lost: 0 });
    // Their copies are in the queue, behind the backlog, which was not published again.
    const queued = await takeChunks(changes);
    expect(queued).toHaveLength(done.chunksTotal - 3 + 2);
    expect(queued.slice(-2).sort()).toEqual([...takenByDeadHost].sort());
  });
});

/**
 * A live host takes a chunk that waited behind a backlog and begins it: its first heartbeat lands a
 * moment later. A watchdog tick in that moment sees a chunk nobody has started whose message is gone
 * from the queue, exactly as if a dead host had taken it: one sight is not enough (in the 20,000-user
 * bench, about one full sync in four published its last chunk again and said the run had stalled).
 */
describe('the watchdog and chunks a live host has just taken', () => {
  const pipelineOf = startsPipeline();

  it('publishes again only the taken chunks that still have not begun a heartbeat bound after it first saw them', async () => {
    const pipeline = pipelineOf();
    const deps = pipeline.deps();
    const tenantId = pipeline.env.tenantId;
    const done = await fetchedRound(pipeline);
    const ref = { tenantId, runId: done.runId, runKey: done.runKey };
    const changes = new QueueClient(pipeline.env.azurite.connectionString, QUEUES.directoryChanges);
    const taken = await takeChunks(changes);
    expect(taken).toHaveLength(done.chunksTotal);

    const t0 = Date.now() + 60_000;
    const at = (ms: number) => ({ ...deps, now: () => new Date(t0 + ms) });
    // They waited a minute and are taken; nobody has beaten yet: nothing is published again.
    expect(await watchRuns(at(0), quiet)).toMatchObject({ republished: 0, lost: 0 });
    // The live host begins all but two (its first heartbeats); the two were taken by a host that died.
    for (const chunkIndex of taken.slice(2))
      await recordChunkRow(deps, ref, chunkIndex, 'claims', { heartbeatAt: t0 + 1_000 });
    const report = await watchRuns(at(WATCHDOG.unclaimedConfirmMs), quiet);
    expect(report).toMatchObject({ republished: 2, lost: 0 });
    expect((await takeChunks(changes)).sort()).toEqual(taken.slice(0, 2).sort());
    expect((await deps.runs.get(ref))?.recoveries).toBe(2);
  });
});

/**
 * A run whose round is gone (no longer the tenant's round in flight) without saying how many chunks it
 * published was abandoned: it ends failed, with the reason. But a tick may read a run still fetching and
 * then, when it reads the tenant's cursor, find the round ended: its fetcher wrote the run's chunk count,
 * then cleared the round. That run is not abandoned (on main the tick recorded "its round was abandoned"
 * on a run that completed).
 */
describe('the watchdog and a run whose round is gone', () => {
  const pipelineOf = startsPipeline();

  it('records nothing on a run whose fetcher said how many chunks it published after the tick read it', async () => {
    const pipeline = pipelineOf();
    const deps = pipeline.deps();
    const done = await fetchedRound(pipeline);
    const ref = { tenantId: done.tenantId, runId: done.runId, runKey: done.runKey };
    // The tick's read of the runs, made before the fetcher's end: no chunk count yet.
    const runs = withMethod(
      deps.runs,
      'list',
      (list) => async (tenantId, top) =>
        (await list(tenantId, top)).map((row) =>
          row.runId === done.runId ? { ...row, chunksTotal: -1 } : row,
        ),
    );
    const later = { ...deps, runs, now: () => new Date(Date.now() + 5 * 60_000) };
    await watchRuns(later, quiet);
    expect(await deps.runs.listErrors(ref)).toEqual([]);
    expect((await deps.runs.get(ref))?.failure ?? '').toBe('');
  });

  it('fails, with the reason, a run whose round is gone without saying how many chunks it published', async () => {
    const pipeline = pipelineOf();
    const deps = pipeline.deps();
    const ref = newRunRef(pipeline.env.tenantId);
    await deps.runs.create(ref, 'manual', false, new Date().toISOString());
    const later = { ...deps, now: () => new Date(Date.now() + 5 * 60_000) };
    await watchRuns(later, quiet);
    expect((await deps.runs.get(ref))?.failure).toMatch(/abandoned/);
    expect((await deps.runs.listErrors(ref)).map((e) => e.message)).toEqual([
      'its round was abandoned before it finished (no fetcher holds it any more)',
    ]);
  });
});

/**
 * The watchdog ticks every 2 seconds and, for a run in progress, reads its chunks' reports, heartbeats
 * and publications. A chunk once applied stays applied, so a tick reads them only from the first chunk
 * the previous tick found not applied (in a 100,000-user bench, reading every row on every tick cost
 * the host and Azurite ~20 CPU-seconds each of a 134 s sync). A stalled chunk at that point is still
 * found.
 */
describe('the watchdog reads a run from its first chunk not applied', () => {
  const pipelineOf = startsPipeline();

  it('reads from there once earlier chunks are applied, and still publishes again a stalled chunk there', async () => {
    const pipeline = pipelineOf();
    const base = pipeline.deps();
    const done = await fetchedRound(pipeline);
    expect(done.chunksTotal).toBeGreaterThan(4);
    const ref = { tenantId: done.tenantId, runId: done.runId, runKey: done.runKey };
    const changes = new QueueClient(pipeline.env.azurite.connectionString, QUEUES.directoryChanges);
    expect(await takeChunks(changes)).toHaveLength(done.chunksTotal);
    /** Where each of the tick's reads of the run's chunk rows started, and the rows they returned. */
    const reads: { what: string; from: number; rows: number[] }[] = [];
    let runs = base.runs;
    for (const what of ['listChunks', 'heartbeats', 'listPublished'] as const) {
      runs = withMethod(runs, what, (original) => {
        const read = original as (r: typeof ref, from?: number) => Promise<unknown>;
        return (async (r: typeof ref, from = 0) => {
          const answer = await read(r, from);
          const rows: number[] =
            answer instanceof Map
              ? [...(answer as Map<number, number>).keys()]
              : (answer as { chunkIndex: number }[]).map((c) => c.chunkIndex);
          reads.push({ what, from, rows });
          return answer;
        }) as never;
      });
    }
    const t0 = Date.now() + 60_000;
    const at = (ms: number) => ({ ...base, runs, now: () => new Date(t0 + ms) });
    const beat = async (ms: number, except: readonly number[]) => {
      for (let chunkIndex = 0; chunkIndex < done.chunksTotal; chunkIndex += 1)
        if (!except.includes(chunkIndex))
          await recordChunkRow(base, ref, chunkIndex, 'claims', { heartbeatAt: t0 + ms });
    };
    const apply = (chunkIndex: number) =>
      base.runs.recordChunk(ref, {
        chunkIndex,
        counts: { created: 1 },
        errors: 0,
        writes: { directoryWrites: 1, bookkeepingWrites: 1, transactions: 1 },
      });
    const tick = async (ms: number) => {
      reads.length = 0;
      return watchRuns(at(ms), quiet);
    };

    // A live host works on every chunk; chunks 0 and 1 are applied.
    await beat(0, []);
    await apply(0);
    await apply(1);
    expect(await tick(0)).toMatchObject({ republished: 0, lost: 0 });
    expect(reads.map((r) => r.from)).toEqual([0, 0, 0]);
    // Chunk 3 is applied too (2 is not): the next tick reads from chunk 2 on.
    await apply(3);
    expect(await tick(1_000)).toMatchObject({ republished: 0, lost: 0 });
    expect(reads.map((r) => [r.what, r.from])).toEqual([
      ['listChunks', 2],
      ['heartbeats', 2],
      ['listPublished', 2],
    ]);
    // No row of an applied chunk below it is read (chunk 2 has no report yet: it is not applied).
    for (const read of reads) expect(Math.min(...read.rows)).toBeGreaterThanOrEqual(2);
    // Chunk 2's host dies (its heartbeat stops); the others beat on: it is published again.
    await beat(WATCHDOG.staleHeartbeatMs + 1_000, [2]);
    expect(await tick(WATCHDOG.staleHeartbeatMs + 1_000)).toMatchObject({ republished: 1, lost: 0 });
    expect(await takeChunks(changes)).toEqual([2]);
    // Its copy is applied: the next tick, reading from chunk 2, finds 2 and 3 applied; the one after
    // reads from chunk 4 on.
    await apply(2);
    await tick(WATCHDOG.staleHeartbeatMs + 2_000);
    expect(reads.map((r) => r.from)).toEqual([2, 2, 2]);
    await tick(WATCHDOG.staleHeartbeatMs + 3_000);
    expect(reads.map((r) => r.from)).toEqual([4, 4, 4]);
    for (const read of reads) expect(Math.min(...read.rows)).toBeGreaterThanOrEqual(4);
  });
});
