import { app, type InvocationContext } from '@azure/functions';

import { loggerFor } from '../src/adapters/functions/invocation-logger.js';
import { QUEUES } from '../src/adapters/storage/storage-names.js';
import { appServices } from '../src/app-services.js';
import { handleQueueFailure } from '../src/usecases/handle-queue-failure.js';
import { directoryChunkSchema } from '../src/usecases/messages.js';
import { reconcileMessage } from '../src/usecases/reconcile-message.js';

/** `directory-changes` → apply one partition's changes to the mirror and the people directory. */
export async function reconcile(message: unknown, context: InvocationContext): Promise<void> {
  const log = loggerFor(context);
  const chunk = directoryChunkSchema.safeParse(message);
  if (!chunk.success) throw new Error(`invalid directory chunk: ${chunk.error.message}`);
  const deps = appServices().deps();
  try {
    await reconcileMessage(deps, chunk.data);
  } catch (error) {
    await handleQueueFailure(deps, QUEUES.directoryChanges, message, error, log);
    // A permanent failure of a whole chunk (a malformed claim check): retrying cannot help.
    throw error;
  }
}

app.storageQueue('reconcile', {
  queueName: QUEUES.directoryChanges,
  connection: 'AzureWebJobsStorage',
  handler: reconcile,
});
