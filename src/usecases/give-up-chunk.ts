import type { RunError } from '../adapters/storage/run-store.js';
import type { DirectoryChange } from '../domain/directory.js';
import type { ChunkReport, RunRef } from './messages.js';
import type { PipelineDeps } from './pipeline-deps.js';

/**
 * A chunk whose changes will never be applied (lost after its copies, poisoned, refused): named in its
 * run's errors, reported (so the run can end, with errors; the report is returned), and the tenant's
 * next round is a full reconciliation, since the delta link has moved past the chunk's changes. The
 * users its changes describe, when they could be read, are counted `failed`.
 */
export async function giveUpChunk(
  deps: Pick<PipelineDeps, 'runs' | 'syncState'>,
  ref: RunRef,
  chunkIndex: number,
  outcome: {
    readonly error: RunError;
    readonly changes: readonly DirectoryChange[] | undefined;
    readonly fullRoundBecause: string;
  },
  at: string,
): Promise<ChunkReport> {
  await deps.runs.recordErrors(ref, [outcome.error], at);
  await deps.syncState.requireFullRound(ref.tenantId, outcome.fullRoundBecause);
  const report: ChunkReport = {
    chunkIndex,
    counts: outcome.changes
      ? { failed: new Set(outcome.changes.flatMap((c) => (c.kind === 'user' ? [c.id] : []))).size }
      : {},
    errors: 1,
    writes: { directoryWrites: 0, bookkeepingWrites: 3, transactions: 3 },
  };
  await deps.runs.recordChunk(ref, report);
  return report;
}
