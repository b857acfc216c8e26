import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { Row } from '../../../src/adapters/storage/table-gateway.js';
import { RUN_OUTCOMES } from '../../../src/domain/person-plan.js';
import { type FanIn, recordRunEvent } from '../../../src/usecases/finalize-run.js';
import type { RunEvent, RunRef } from '../../../src/usecases/messages.js';
import type { PipelineDeps } from '../../../src/usecases/pipeline-deps.js';

/**
 * Pure unit test of the fan-in: the run row lives in memory, `deps.runs.update` applies the change
 * function the way RunStore.update does (undefined = leave the row as it is). Nothing else is used.
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
    doneBitmap: '',
    errors: 0,
    graphRequests: 0,
    ...NO_WRITES,
    ...Object.fromEntries(RUN_OUTCOMES.map((outcome) => [outcome, 0])),
  };
}

function inMemoryRun(): { deps: PipelineDeps; row: () => Row } {
  let row = runningRow();
  const runs = {
    update: (_ref: RunRef, change: (current: Row) => Row | undefined): Promise<Row | undefined> => {
      const next = change({ ...row });
      if (next) row = next;
      return Promise.resolve(row);
    },
  };
  const deps = { runs, now: () => new Date(ENDED_AT) } as unknown as PipelineDeps;
  return { deps, row: () => row };
}

function chunkDone(chunkIndex: number, created = 1, errors = 0): RunEvent {
  return {
    ...REF,
    type: 'chunk-done',
    chunkIndex,
    counts: { created },
    writes: { directoryWrites: created, bookkeepingWrites: 1, transactions: 1 },
    errors,
  };
}

function fetchDone(chunksTotal: number, errors = 0): RunEvent {
  return { ...REF, type: 'fetch-done', chunksTotal, graphRequests: 5, writes: NO_WRITES, errors };
}

async function deliver(deps: PipelineDeps, events: readonly RunEvent[]): Promise<FanIn[]> {
  const results: FanIn[] = [];
  for (const event of events) results.push(await recordRunEvent(deps, event));
  return results;
}

describe('recordRunEvent', () => {
  it('completes a run once the fetcher is done and every chunk is counted', async () => {
    const run = inMemoryRun();
    expect(await deliver(run.deps, [chunkDone(1), fetchDone(2), chunkDone(0)])).toEqual([
      'recorded',
      'recorded',
      'completed',
    ]);
    expect(run.row()).toMatchObject({ state: 'completed', endedAt: ENDED_AT, chunksDone: 2, created: 2 });
  });

  it('completes a run without chunks on the fetcher end alone', async () => {
    const run = inMemoryRun();
    expect(await deliver(run.deps, [fetchDone(0)])).toEqual(['completed']);
  });

  it('counts a redelivered chunk once, and ignores a redelivered fetcher end', async () => {
    const run = inMemoryRun();
    expect(await deliver(run.deps, [chunkDone(9), chunkDone(9), fetchDone(11), fetchDone(11)])).toEqual([
      'recorded',
      'duplicate',
      'recorded',
      'duplicate',
    ]);
    expect(run.row()).toMatchObject({ chunksDone: 1, created: 1, state: 'running' });
  });

  it('marks a run with errors completed-with-errors and answers not-running afterwards', async () => {
    const run = inMemoryRun();
    expect(await deliver(run.deps, [chunkDone(0, 1, 2), fetchDone(1), chunkDone(0)])).toEqual([
      'recorded',
      'completed',
      'not-running',
    ]);
    expect(run.row()).toMatchObject({ state: 'completed-with-errors', errors: 2 });
  });

  it('whatever the order and redeliveries: one completion, after the last new event, with each chunk counted once', async () => {
    const delivery = fc
      .integer({ min: 0, max: 70 })
      .chain((total) =>
        fc.record({
          total: fc.constant(total),
          copies: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: total, maxLength: total }),
          created: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: total, maxLength: total }),
          fetchCopies: fc.integer({ min: 1, max: 2 }),
        }),
      )
      .chain((plan) => {
        const events: RunEvent[] = [];
        plan.copies.forEach((copies, index) => {
          for (let i = 0; i < copies; i += 1) events.push(chunkDone(index, plan.created[index]));
        });
        for (let i = 0; i < plan.fetchCopies; i += 1) events.push(fetchDone(plan.total));
        return fc.record({
          plan: fc.constant(plan),
          events: fc.shuffledSubarray(events, { minLength: events.length }),
        });
      });

    await fc.assert(
      fc.asyncProperty(delivery, async ({ plan, events }) => {
        const run = inMemoryRun();
        const results = await deliver(run.deps, events);

        // The model: what each delivery must answer.
        const seen = new Set<number>();
        let fetched = false;
        let complete = false;
        const expected = events.map((event): FanIn => {
          if (complete) return 'not-running';
          const fresh = event.type === 'chunk-done' ? !seen.has(event.chunkIndex) : !fetched;
          if (event.type === 'chunk-done') seen.add(event.chunkIndex);
          else fetched = true;
          if (!fresh) return 'duplicate';
          complete = fetched && seen.size === plan.total;
          return complete ? 'completed' : 'recorded';
        });

        expect(results).toEqual(expected);
        expect(results.filter((r) => r === 'completed')).toHaveLength(1);
        expect(run.row()).toMatchObject({
          state: 'completed',
          chunksTotal: plan.total,
          chunksDone: plan.total,
          created: plan.created.reduce((a, b) => a + b, 0),
          bookkeepingWrites: plan.total,
        });
      }),
      { numRuns: 200 },
    );
  });
});
