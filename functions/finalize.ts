import { app, type InvocationContext } from '@azure/functions';

import { loggerFor } from '../src/adapters/functions/invocation-logger.js';
import { QUEUES } from '../src/adapters/storage/storage-names.js';
import { appServices } from '../src/app-services.js';
import { recordRunEvent } from '../src/usecases/finalize-run.js';
import { handleQueueFailure } from '../src/usecases/handle-queue-failure.js';
import { runEventSchema } from '../src/usecases/messages.js';

/** `run-events` → fan-in: count the chunk into its run; complete the run when all are in. */
export async function finalize(message: unknown, context: InvocationContext): Promise<void> {
  const log = loggerFor(context);
  const event = runEventSchema.safeParse(message);
  if (!event.success) throw new Error(`invalid run event: ${event.error.message}`);
  const deps = appServices().deps();
  try {
    const result = await recordRunEvent(deps, event.data);
    if (result === 'completed')
      log.info('run completed', { tenantId: event.data.tenantId, runId: event.data.runId });
  } catch (error) {
    await handleQueueFailure(deps, QUEUES.runEvents, message, error, log);
    throw error;
  }
}

app.storageQueue('finalize', {
  queueName: QUEUES.runEvents,
  connection: 'AzureWebJobsStorage',
  handler: finalize,
});
