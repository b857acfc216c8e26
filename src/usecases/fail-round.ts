import type { RunState } from '../adapters/storage/run-store.js';
import { QUEUES } from '../adapters/storage/storage-names.js';
import { SyncError } from '../shared/errors.js';
import type { RunEvent } from './messages.js';
import type { Logger, PipelineDeps } from './pipeline-deps.js';
import { requestFollowUp } from './request-sync.js';
import { seenPrefix, stagedPrefix } from './run-blobs.js';
import { tenantErrorLog } from './tenant-errors.js';

/**
 * A round that cannot go on (permission denied, a refused credential): its run fails with the reason
 * and the round is abandoned, leaving nothing behind; the delta links stay where they were, so the
 * next round re-reads every change this one read, with newer versions.
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
    // The run ends `failed` through the fan-in, once the chunks it already published have been
    // applied (so its rounds settle and its counts say what it did).
    await deps.runs.transition(ref, (row) =>
      row.state !== ('running' satisfies RunState)
        ? undefined
        : {
            ...row,
            failure: error.message.slice(0, 2000),
            chunksTotal: Number(row.chunksTotal) >= 0 ? row.chunksTotal : round.chunkIndex,
            graphRequests: round.graphRequests,
            errors: Number(row.errors) + 1,
          },
    );
    if (lease) {
      // The round's sequence is used up: the next round's versions are newer than anything this one
      // published, and it starts with no state of this one (its staged changes and seen ids go).
      cursor.round = null;
      cursor.lastRound = Math.max(cursor.lastRound, round.seq);
      await deps.syncState.saveCursor(tenantId, cursor, lease);
      await deps.chunkStore.deletePrefix(stagedPrefix(round));
      await deps.chunkStore.deletePrefix(seenPrefix(round));
    }
    await deps.queues.send(QUEUES.runEvents, { type: 'check', ...ref, attempt: 0 } satisfies RunEvent);
  } else {
    // Failed before any round began (a refused credential, a re-projection under another bucket
    // count): said on the tenant's error log, which the runs API shows.
    await tenantErrorLog(deps).record(tenantId, {
      category: error instanceof SyncError ? error.category : 'transient',
      message: error.message,
      source: 'fetch',
      at: deps.now().toISOString(),
    });
  }
  if (lease) {
    const released = await deps.syncState.releaseLease(tenantId, lease);
    await requestFollowUp(deps, { tenantId, trigger: round?.trigger ?? 'schedule' }, released);
  }
  log.error('round failed', { tenantId, runId: round?.runId, error: error.message });
}
