import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { Row } from '../../../src/adapters/storage/table-gateway.js';
import { RUN_OUTCOMES } from '../../../src/domain/person-plan.js';
import {
  CHECK_EACH_CHUNK_LAST,
  CHECK_EACH_CHUNK_UP_TO,
  chunkApplied,
  type FanIn,
  recordRunEvent,
} from '../../../src/usecases/finalize-run.js';
import type { ChunkReport, RunEvent, RunRef } from '../../../src/usecases/messages.js';
import type { PipelineDeps } from '../../../src/usecases/pipeline-deps.js';

/**
 * Pure unit test of the fan-in: the run row and the chunk reports live in memory; `deps.runs` behaves
 * like RunStore (update applies the change function, undefined = leave the row), and `deps.queues`
 * records the delayed `check` messages the finalizer sends itself.
 */
const REF: RunRef = { tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47', runId: 'run-1', runKey: 'key-1' };
const ENDED_AT = '2025-01-01T00:00:00.000Z';
const NO_WRITES = { directoryWrites: 0, bookkeepingWrites: 0, transactions: 0 };

function runningRow(): Row {
  return {
    partitionKey: REF.tenantId,
    rowKey: REF.runKey,
    state: 'running',
    endedAt: '',
    chunksTotal: -1,
    chunksDone: 0,
    errors: 0,
    graphRequests: 0,
    ...NO_WRITES,
    ...Object.fromEntries(RUN_OUTCOMES.map((outcome) => [outcome, 0])),
  };
}

function inMemoryRun() {
  let row = runningRow();
  const chunks = new Map<number, ChunkReport>();
  const sent: RunEvent[] = [];
  const runs = {
    get: () => Promise.resolve({ ...row }),
    update: (_ref: RunRef, change: (current: Row) => Row | undefined) => {
      const next = change({ ...row });
      if (next) row = next;
      return Promise.resolve(row);
    },
    transition: (_ref: RunRef, change: (current: Row) => Row | undefined) => {
      const next = change({ ...row });
      if (next) row = next;
      return Promise.resolve(next);
    },
    list: () => Promise.resolve([{ ...row }]),
    listChunks: (_ref: RunRef, from = 0) =>
      Promise.resolve(
        [...chunks.values()].filter((c) => c.chunkIndex >= from).map((c) => ({ ...c, state: 'applied' })),
      ),
    // The gate's own records (what it decided, the managers pass): first write wins, as createIfAbsent.
    recordGatePart: (
      _ref: RunRef,
      part: string,
      counts: Record<string, number>,
      errors: number,
      extra: Record<string, unknown> = {},
    ) => {
      const row: Row = { partitionKey: REF.tenantId, rowKey: part, ...extra };
      if (!gateParts.has(part)) gateParts.set(part, { part, counts, errors, row });
      return Promise.resolve();
    },
    listGateParts: () => Promise.resolve([...gateParts.values()]),
    recordErrors: () => Promise.resolve(),
  };
  const gateParts = new Map<
    string,
    { part: string; counts: Record<string, number>; errors: number; row: Row }
  >();
  const settled = { advance: () => Promise.resolve() };
  const queues = { send: (_queue: string, message: RunEvent) => Promise.resolve(void sent.push(message)) };
  const chunkStore = { deletePrefix: () => Promise.resolve() };
  // Nothing held for the gate, no connection (the default policy), an empty directory for the managers.
  const changeSets = { list: () => Promise.resolve([]) };
  const connections = { get: () => Promise.resolve(undefined) };
  let runReads = 0;
  const readRun = runs.get;
  runs.get = () => {
    runReads += 1;
    return readRun();
  };
  const tables = {
    // What one process keeps between invocations is kept per storage account (TableGateway.scope).
    scope: {},
    listPartitionRange: () => Promise.resolve([]),
    // The gate's claim: one finalizer at a time (here, always granted).
    get: () => Promise.resolve(undefined),
    createIfAbsent: () => Promise.resolve(true),
    upsert: () => Promise.resolve(),
  };
  const managerIndex = { readAll: () => Promise.resolve([]) };
  const deps = {
    runs,
    settled,
    queues,
    chunkStore,
    changeSets,
    connections,
    tables,
    managerIndex,
    buckets: 64,
    now: () => new Date(ENDED_AT),
  } as unknown as PipelineDeps;
  const report = (chunkIndex: number, created = 1, errors = 0): void => {
    chunks.set(chunkIndex, {
      chunkIndex,
      counts: { created },
      writes: { directoryWrites: created, bookkeepingWrites: 1, transactions: 1 },
      errors,
    });
  };
  return { deps, row: () => row, sent, report, runReads: () => runReads };
}

/** The run's first listing of its reports answers only once released; `listings` counts them all. */
function slowFirstListing(deps: PipelineDeps): { listings: () => number; release: () => void } {
  const listChunks = deps.runs.listChunks.bind(deps.runs);
  let listings = 0;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  (deps.runs as { listChunks: typeof listChunks }).listChunks = async (ref, from) => {
    listings += 1;
    const snapshot = await listChunks(ref, from);
    if (listings === 1) await released;
    return snapshot;
  };
  return { listings: () => listings, release };
}

function fetchDone(chunksTotal: number, errors = 0): RunEvent {
  return { ...REF, type: 'fetch-done', chunksTotal, graphRequests: 5, writes: NO_WRITES, errors };
}

describe('recordRunEvent (fan-in)', () => {
  it('completes a run with no chunks as soon as the fetcher is done', async () => {
    const run = inMemoryRun();
    expect(await recordRunEvent(run.deps, fetchDone(0))).toBe('completed');
    expect(run.row()).toMatchObject({
      state: 'completed',
      endedAt: ENDED_AT,
      chunksTotal: 0,
      graphRequests: 5,
    });
  });

  it('waits, with a delayed check, while chunks are missing, and completes when the last one reported', async () => {
    const run = inMemoryRun();
    run.report(0);
    expect(await recordRunEvent(run.deps, fetchDone(2))).toBe('waiting');
    expect(run.sent).toEqual([{ type: 'check', ...REF, attempt: 0 }]);
    run.report(1, 3);
    expect(await recordRunEvent(run.deps, run.sent[0]!)).toBe('completed');
    expect(run.row()).toMatchObject({ state: 'completed', created: 4, chunksDone: 2, directoryWrites: 4 });
  });

  it('says completed-with-errors when a chunk or the fetcher recorded errors', async () => {
    const run = inMemoryRun();
    run.report(0, 1, 2);
    expect(await recordRunEvent(run.deps, fetchDone(1, 1))).toBe('completed');
    expect(run.row()).toMatchObject({ state: 'completed-with-errors', errors: 3 });
  });

  it('ignores events for a run that is no longer running', async () => {
    const run = inMemoryRun();
    await recordRunEvent(run.deps, fetchDone(0));
    expect(await recordRunEvent(run.deps, { type: 'check', ...REF, attempt: 3 })).toBe('not-running');
    expect(await recordRunEvent(run.deps, fetchDone(0))).toBe('not-running');
  });

  it('property: whatever the order and duplication of reports, fetch-done and checks, the run completes once with every chunk counted once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 0, maxLength: 40 }),
        fc.integer({ min: 1, max: 2 }),
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 40, maxLength: 40 }),
        async (order, fetchDeliveries, created) => {
          const total = new Set(order).size;
          const indices = [...new Set(order)].sort((a, b) => a - b);
          const remap = new Map(indices.map((index, i) => [index, i]));
          const run = inMemoryRun();
          const results: FanIn[] = [];
          for (let d = 0; d < fetchDeliveries; d += 1)
            results.push(await recordRunEvent(run.deps, fetchDone(total)));
          for (const [step, index] of order.entries()) {
            run.report(remap.get(index)!, created[remap.get(index)!]);
            const check = run.sent.shift();
            if (check) results.push(await recordRunEvent(run.deps, check));
            void step;
          }
          while (run.sent.length > 0) results.push(await recordRunEvent(run.deps, run.sent.shift()!));
          expect(results.filter((r) => r === 'completed')).toHaveLength(1);
          const expectedCreated = Array.from({ length: total }, (_, i) => created[i]!).reduce(
            (a, b) => a + b,
            0,
          );
          expect(run.row()).toMatchObject({
            state: 'completed',
            created: expectedCreated,
            chunksDone: total,
          });
        },
      ),
    );
  });

  it('a chunk-applied event completes the run once the last chunk is in, and sends no check while one is missing', async () => {
    const run = inMemoryRun();
    run.report(0);
    await recordRunEvent(run.deps, fetchDone(2));
    run.sent.length = 0;
    const applied: RunEvent = { type: 'chunk-applied', ...REF };
    expect(await recordRunEvent(run.deps, applied)).toBe('waiting');
    expect(run.sent).toEqual([]);
    run.report(1, 2);
    expect(await recordRunEvent(run.deps, applied)).toBe('completed');
    expect(run.row()).toMatchObject({ state: 'completed', created: 3, chunksDone: 2 });
  });

  it('coalesces the chunk-applied checks of one run in one process: those arriving while it checks make it look once more', async () => {
    const run = inMemoryRun();
    run.report(0);
    await recordRunEvent(run.deps, fetchDone(3));
    // The first check's listing is taken now and answers only when released, as a slow query would.
    const { listings, release } = slowFirstListing(run.deps);
    const applied: RunEvent = { type: 'chunk-applied', ...REF };
    const first = recordRunEvent(run.deps, applied);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(listings()).toBe(1);
    run.report(1);
    run.report(2);
    // Two more chunks are in while the first check lists: neither lists the reports again.
    expect(await recordRunEvent(run.deps, applied)).toBe('waiting');
    expect(await recordRunEvent(run.deps, applied)).toBe('waiting');
    expect(listings()).toBe(1);
    release();
    expect(await first).toBe('completed');
    // The check looked once more, from the chunk its first look found not applied, then read every
    // report to sum them.
    expect(listings()).toBe(3);
    expect(run.row()).toMatchObject({ state: 'completed', created: 3, chunksDone: 3 });
  });
  it('waits, reading no report, while another finalizer passes the gate (its claim is fresh), and completes once the claim is released', async () => {
    const run = inMemoryRun();
    run.report(0);
    expect(await recordRunEvent(run.deps, fetchDone(2))).toBe('waiting');
    run.report(1);
    // Another finalizer found every chunk in and claimed the gate a second ago: it is passing it.
    let claim: Row | undefined = {
      partitionKey: `${REF.tenantId}|${REF.runId}|gate`,
      rowKey: 'claim',
      at: Date.parse(ENDED_AT) - 1000,
    };
    Object.assign(run.deps.tables, {
      get: () => Promise.resolve(claim),
      // A released claim is taken over (ETag'd replace).
      replaceIfMatch: () => Promise.resolve(),
    });
    let listings = 0;
    const listChunks = run.deps.runs.listChunks.bind(run.deps.runs);
    (run.deps.runs as { listChunks: typeof listChunks }).listChunks = (ref, from) => {
      listings += 1;
      return listChunks(ref, from);
    };
    run.sent.length = 0;
    expect(await recordRunEvent(run.deps, { type: 'check', ...REF, attempt: 0 })).toBe('waiting');
    expect(listings).toBe(0);
    expect(run.sent).toEqual([{ type: 'check', ...REF, attempt: 1 }]);
    expect(run.row()).toMatchObject({ state: 'running' });
    // The gate is passed (or its finalizer died and the claim went stale): the next check completes.
    claim = { ...claim, at: 0 };
    expect(await recordRunEvent(run.deps, run.sent[0]!)).toBe('completed');
    // From chunk 1 (the fetch-done's check found chunk 0 applied), then every report, to sum them.
    expect(listings).toBe(2);
  });

  it('reads the reports only from the first chunk the previous check found not applied, and all of them to complete', async () => {
    const run = inMemoryRun();
    const froms: number[] = [];
    const listChunks = run.deps.runs.listChunks.bind(run.deps.runs);
    (run.deps.runs as { listChunks: typeof listChunks }).listChunks = (ref, from = 0) => {
      froms.push(from);
      return listChunks(ref, from);
    };
    for (const chunkIndex of [0, 1, 3]) run.report(chunkIndex);
    expect(await recordRunEvent(run.deps, fetchDone(5))).toBe('waiting');
    run.report(2);
    const check: RunEvent = { type: 'check', ...REF, attempt: 0 };
    expect(await recordRunEvent(run.deps, check)).toBe('waiting');
    run.report(4);
    expect(await recordRunEvent(run.deps, check)).toBe('completed');
    expect(froms).toEqual([0, 2, 4, 0]);
    expect(run.row()).toMatchObject({ state: 'completed', created: 5, chunksDone: 5 });
  });
});

describe('chunkApplied (a small run, and the last chunks of a large one, are checked as each chunk is in)', () => {
  it('asks for a check at once once the fetch is done and the run is small', async () => {
    const run = inMemoryRun();
    await recordRunEvent(run.deps, fetchDone(3));
    run.sent.length = 0;
    await chunkApplied(run.deps, REF);
    expect(run.sent).toEqual([{ type: 'chunk-applied', ...REF }]);
  });

  it('asks nothing while the fetch runs, for the bulk of a large run, or for a run that ended', async () => {
    const fetching = inMemoryRun();
    await chunkApplied(fetching.deps, REF);
    expect(fetching.sent).toEqual([]);

    const large = inMemoryRun();
    await recordRunEvent(large.deps, fetchDone(CHECK_EACH_CHUNK_UP_TO + 1));
    large.sent.length = 0;
    await chunkApplied(large.deps, REF);
    expect(large.sent).toEqual([]);

    const ended = inMemoryRun();
    await recordRunEvent(ended.deps, fetchDone(0));
    await chunkApplied(ended.deps, REF);
    expect(ended.sent).toEqual([]);
  });

  it("makes each of a large run's last chunks check it once a check finds only those to go, so the last one completes it", async () => {
    const total = CHECK_EACH_CHUNK_UP_TO + 40;
    const run = inMemoryRun();
    for (let i = 0; i < total - CHECK_EACH_CHUNK_LAST - 1; i += 1) run.report(i);
    await recordRunEvent(run.deps, fetchDone(total));
    run.sent.length = 0;
    await chunkApplied(run.deps, REF);
    expect(run.sent).toEqual([]);

    run.report(total - CHECK_EACH_CHUNK_LAST - 1);
    expect(await recordRunEvent(run.deps, { type: 'check', ...REF, attempt: 0 })).toBe('waiting');
    expect(run.row().closing).toBe(true);
    run.sent.length = 0;
    for (let i = total - CHECK_EACH_CHUNK_LAST; i < total; i += 1) {
      run.report(i);
      await chunkApplied(run.deps, REF);
    }
    expect(run.sent).toHaveLength(CHECK_EACH_CHUNK_LAST);
    expect(run.sent.every((event) => event.type === 'chunk-applied')).toBe(true);
    expect(await recordRunEvent(run.deps, run.sent.at(-1)!)).toBe('completed');
    expect(run.row()).toMatchObject({ state: 'completed', chunksDone: total, created: total });
  });

  it('reads a small run once: its other chunks ask for a check without reading it again', async () => {
    const run = inMemoryRun();
    await recordRunEvent(run.deps, fetchDone(3));
    run.sent.length = 0;
    const reads = run.runReads();
    for (let i = 0; i < 3; i += 1) await chunkApplied(run.deps, REF);
    expect(run.runReads() - reads).toBe(1);
    expect(run.sent).toEqual([1, 2, 3].map(() => ({ type: 'chunk-applied', ...REF })));
  });

  it('sends nothing for a chunk that ends while this process checks its run: that check looks once more and completes it', async () => {
    const run = inMemoryRun();
    run.report(0);
    await recordRunEvent(run.deps, fetchDone(2));
    run.sent.length = 0;
    // The check of chunk 0's event lists the reports and answers only when released, as a slow query would.
    const { listings, release } = slowFirstListing(run.deps);
    const checking = recordRunEvent(run.deps, { type: 'chunk-applied', ...REF });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(listings()).toBe(1);

    run.report(1);
    await chunkApplied(run.deps, REF);
    expect(run.sent).toEqual([]);
    release();
    expect(await checking).toBe('completed');
    expect(run.row()).toMatchObject({ state: 'completed', created: 2, chunksDone: 2 });
  });
});
