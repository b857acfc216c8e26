import { app, type InvocationContext } from '@azure/functions';

import { loggerFor } from '../src/adapters/functions/invocation-logger.js';
import { QUEUES } from '../src/adapters/storage/storage-names.js';
import { appServices } from '../src/app-services.js';
import { acceptMessage } from '../src/usecases/accept-message.js';
import { recordRunEvent } from '../src/usecases/finalize-run.js';
import { handleQueueFailure } from '../src/usecases/handle-queue-failure.js';
import { runEventSchema } from '../src/usecases/messages.js';
import { noteEventForUnknownRun } from '../src/usecases/tenant-errors.js';

/** `run-events` → fan-in: count the chunk into its run; complete the run when all are in. */
export async function finalize(message: unknown, context: InvocationContext): Promise<void> {
  const log = loggerFor(context);
  const deps = appServices().deps();
  const dequeueCount = Number(context.triggerMetadata?.dequeueCount ?? 0);
  const event = await acceptMessage(deps, QUEUES.runEvents, runEventSchema, message, dequeueCount, log);
  if (!event) return;
  try {
    const result = await recordRunEvent(deps, event);
    if (result === 'completed') log.info('run completed', { tenantId: event.tenantId, runId: event.runId });
    if (result === 'unknown-run') {
      log.warn('run event for an unknown run', { tenantId: event.tenantId, runId: event.runId });
      await noteEventForUnknownRun(deps, event);
    }
  } catch (error) {
    await handleQueueFailure(deps, QUEUES.runEvents, message, error, log, dequeueCount);
    throw error;
  }
}

app.storageQueue('finalize', {
  queueName: QUEUES.runEvents,
  connection: 'AzureWebJobsStorage',
  handler: finalize,
});
