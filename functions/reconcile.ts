import { app, type InvocationContext } from '@azure/functions';

import { loggerFor } from '../src/adapters/functions/invocation-logger.js';
import { QUEUE_OUTPUTS } from '../src/adapters/functions/output-binding-queues.js';
import { QUEUES } from '../src/adapters/storage/storage-names.js';
import { appServices } from '../src/app-services.js';
import { acceptMessage } from '../src/usecases/accept-message.js';
import { handleQueueFailure } from '../src/usecases/handle-queue-failure.js';
import { directoryChunkSchema } from '../src/usecases/messages.js';
import { reconcileMessage } from '../src/usecases/reconcile-message.js';

/**
 * `directory-changes` → apply one partition's changes to the mirror and the people directory. What
 * the chunk sends when it is in (a small run's `chunk-applied`) leaves through the output bindings, so
 * the host wakes the finalizer at once.
 */
export async function reconcile(message: unknown, context: InvocationContext): Promise<void> {
  const log = loggerFor(context);
  const services = appServices();
  const deps = services.deps();
  const dequeueCount = Number(context.triggerMetadata?.dequeueCount ?? 0);
  const chunk = await acceptMessage(
    deps,
    QUEUES.directoryChanges,
    directoryChunkSchema,
    message,
    dequeueCount,
    log,
  );
  if (!chunk) return;
  const queues = services.outputQueues();
  try {
    await reconcileMessage({ ...deps, queues }, chunk);
  } catch (error) {
    await queues.sendKeptNow();
    await handleQueueFailure(deps, QUEUES.directoryChanges, message, error, log, dequeueCount);
    // A permanent failure of a whole chunk (a malformed claim check): retrying cannot help.
    throw error;
  }
  queues.handTo(context);
}

app.storageQueue('reconcile', {
  queueName: QUEUES.directoryChanges,
  connection: 'AzureWebJobsStorage',
  extraOutputs: Object.values(QUEUE_OUTPUTS),
  handler: reconcile,
});
