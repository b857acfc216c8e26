import type { QueueName } from '../adapters/storage/storage-names.js';
import { ensureError, SyncError } from '../shared/errors.js';
import { noteFailure } from './failure-notes.js';
import type { Logger, PipelineDeps } from './pipeline-deps.js';

/**
 * The one rule for a queue handler's failure: a permanent error is the caller's to record (it returns
 * false: do not retry); anything else is noted (for the poison drain) and rethrown so the queue retries.
 */
export async function handleQueueFailure(
  deps: PipelineDeps,
  queue: QueueName,
  body: unknown,
  thrown: unknown,
  log: Logger,
  dequeueCount = 0,
): Promise<false> {
  const error = ensureError(thrown);
  if (error instanceof SyncError && !error.transient) return false;
  log.warn('message failed; the queue will retry it', { queue, error: error.message });
  await noteFailure(deps.tables, queue, body, error, dequeueCount).catch(() => undefined);
  throw error;
}
