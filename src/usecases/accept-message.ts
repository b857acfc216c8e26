import type { z } from 'zod';

import type { QueueName } from '../adapters/storage/storage-names.js';
import { PermanentError } from '../shared/errors.js';
import { noteDelivery, noteFailure } from './failure-notes.js';
import type { Logger, PipelineDeps } from './pipeline-deps.js';

/**
 * The one gate of the three queue triggers: a message that fails its schema cannot succeed on a retry,
 * so it goes to `<queue>-poison` at once, with the validation reason noted for the drain, and the
 * trigger returns (the original is dequeued). A valid message redelivered has its delivery noted.
 */
export async function acceptMessage<T>(
  deps: PipelineDeps,
  queue: QueueName,
  schema: z.ZodType<T>,
  message: unknown,
  dequeueCount: number,
  log: Logger,
): Promise<T | undefined> {
  const parsed = schema.safeParse(message);
  if (parsed.success) {
    if (dequeueCount > 1)
      await noteDelivery(deps.tables, queue, message, dequeueCount).catch(() => undefined);
    return parsed.data;
  }
  const reason = parsed.error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'message'}: ${issue.message}`)
    .join('; ');
  const error = new PermanentError(`the message does not match its schema (${reason})`, 'invalid-data');
  log.error('message refused: it does not match its schema, moved to the poison queue', { queue, reason });
  await noteFailure(deps.tables, queue, message, error, dequeueCount);
  await deps.queues.sendToPoison(queue, message);
  return undefined;
}
