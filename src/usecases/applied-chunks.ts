import type { RunStore, StoredChunkReport } from '../adapters/storage/run-store.js';
import type { RunRef } from './messages.js';

/** A run's chunk reports as read from one chunk on, and which of its chunks are applied. */
export interface AppliedFrom {
  /** Every chunk below this one was seen applied before: the read starts here. */
  readonly from: number;
  /** The reports of chunks `from` and later. */
  readonly reports: readonly StoredChunkReport[];
  /** The applied chunks among them (below the run's total). */
  readonly applied: ReadonlySet<number>;
  /** Applied chunks in all: those below `from` and those read. */
  readonly count: number;
  /** The first chunk not applied: where the caller's next read starts. */
  readonly next: number;
}

/**
 * Which of a run's chunks are applied, reading the reports only from `from`, a chunk below which the
 * caller saw every chunk applied. A chunk once applied stays applied (a redelivery finds its report
 * and stops; a withdrawn, given-up or lost chunk is reported applied), so the fan-in's checks (every
 * second) and the watchdog (every two seconds) each remember, per run, where their last read found
 * the first chunk not applied, and read from there: a check of a first sync of 100,000 users (1,281
 * chunks) reads the reports of the chunks in flight, not the whole run's every time.
 */
export async function readAppliedFrom(
  runs: Pick<RunStore, 'listChunks'>,
  ref: Pick<RunRef, 'tenantId' | 'runId'>,
  total: number,
  from: number,
): Promise<AppliedFrom> {
  const reports = await runs.listChunks(ref, from);
  const applied = new Set(
    reports.filter((r) => r.chunkIndex < total && r.state === 'applied').map((r) => r.chunkIndex),
  );
  let next = from;
  while (next < total && applied.has(next)) next += 1;
  return { from, reports, applied, count: from + applied.size, next };
}
