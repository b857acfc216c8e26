import { newRunRef } from '../adapters/storage/run-store.js';
import { QUEUES } from '../adapters/storage/storage-names.js';
import { recordFetchDone } from './finalize-run.js';
import type { DirectoryChunk, RunEvent, RunRef, SyncRequest } from './messages.js';
import type { Logger, PipelineDeps } from './pipeline-deps.js';

/**
 * A settings change re-projects everyone from the mirror, with no Graph request: a run (trigger
 * `settings`) of one `replan` chunk per bucket (every user of the bucket planned again under the
 * connection's current policy) and one for the groups (every team row: synced, mapped or archived).
 * It goes through the ordinary fan-in, gate and watchdog like any round; it needs no round lease
 * (chunks of one bucket apply one at a time under the bucket's lock, and planning is a function of
 * the mirror, the policy and the app's directory, so it commutes with a delta round's chunks).
 */
export async function startReproject(deps: PipelineDeps, request: SyncRequest, log: Logger): Promise<RunRef> {
  const ref = newRunRef(request.tenantId, deps.now());
  await deps.runs.create(ref, 'settings', false, deps.now().toISOString(), 0);
  const base = {
    type: 'directory-chunk' as const,
    ...ref,
    fresh: false,
    buckets: deps.buckets,
    replan: true,
  };
  const messages: DirectoryChunk[] = [
    { ...base, chunkIndex: 0, partition: 'groups', changes: [] },
    ...Array.from({ length: deps.buckets }, (_, bucket) => ({
      ...base,
      chunkIndex: bucket + 1,
      partition: `users:${bucket}`,
      changes: [],
    })),
  ];
  await deps.runs.recordPublished(ref, messages);
  await deps.queues.sendAll(QUEUES.directoryChanges, messages);
  const done = {
    type: 'fetch-done',
    ...ref,
    chunksTotal: messages.length,
    graphRequests: 0,
    errors: 0,
    writes: { directoryWrites: 0, bookkeepingWrites: 1, transactions: 1 },
  } satisfies RunEvent;
  await recordFetchDone(deps, done);
  await deps.queues.send(QUEUES.runEvents, done);
  log.info('re-projecting everyone from the mirror under the current settings', {
    tenantId: request.tenantId,
    runId: ref.runId,
  });
  return ref;
}
