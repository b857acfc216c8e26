import type { RunState } from '../adapters/storage/run-store.js';
import { SyncError } from '../shared/errors.js';
import type { Logger, PipelineDeps } from './pipeline-deps.js';
import { requestFollowUp } from './request-sync.js';

/**
 * A round that cannot go on (permission denied, a refused credential): its run fails with the reason
 * and the round is abandoned; the delta links stay where they were, so the next round re-reads.
 */
export async function failRound(
  deps: PipelineDeps,
  tenantId: string,
  error: Error,
  log: Logger,
): Promise<void> {
  const lease = await deps.syncState.acquireLease(tenantId);
  const { cursor } = await deps.syncState.readCursor(tenantId);
  const round = cursor.round;
  if (round) {
    const ref = { tenantId, runId: round.runId, runKey: round.runKey };
    const now = deps.now().toISOString();
    const category = error instanceof SyncError ? error.category : 'transient';
    await deps.runs.recordErrors(
      ref,
      [{ category, objectId: null, message: error.message, source: 'fetch' }],
      now,
    );
    await deps.runs.update(ref, (row) => ({
      ...row,
      state: 'failed' satisfies RunState,
      endedAt: now,
      errors: Number(row.errors) + 1,
    }));
    if (lease) {
      cursor.round = null;
      await deps.syncState.saveCursor(tenantId, cursor, lease);
    }
  }
  if (lease) {
    const released = await deps.syncState.releaseLease(tenantId, lease);
    await requestFollowUp(deps, { tenantId, trigger: round?.trigger ?? 'schedule' }, released);
  }
  log.error('round failed', { tenantId, runId: round?.runId, error: error.message });
}
