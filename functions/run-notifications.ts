import { app, type InvocationContext } from '@azure/functions';

import { loggerFor } from '../src/adapters/functions/invocation-logger.js';
import { QUEUES } from '../src/adapters/storage/storage-names.js';
import { runNotificationServices } from '../src/run-notification-services.js';
import { acceptMessage } from '../src/usecases/accept-message.js';
import { handleQueueFailure } from '../src/usecases/handle-queue-failure.js';
import { deliverRunNotification, runNotificationMessageSchema } from '../src/usecases/run-notifications.js';

/** `run-notifications` → a run's mail and signed webhook, each sent once (retried with back-off). */
export async function runNotifications(message: unknown, context: InvocationContext): Promise<void> {
  const log = loggerFor(context);
  const deps = runNotificationServices().deps();
  const dequeueCount = Number(context.triggerMetadata?.dequeueCount ?? 0);
  const request = await acceptMessage(
    deps.pipeline,
    QUEUES.runNotifications,
    runNotificationMessageSchema,
    message,
    dequeueCount,
    log,
  );
  if (!request) return;
  try {
    await deliverRunNotification(deps, request, log);
  } catch (error) {
    await handleQueueFailure(deps.pipeline, QUEUES.runNotifications, message, error, log, dequeueCount);
    throw error;
  }
}

app.storageQueue('run-notifications', {
  queueName: QUEUES.runNotifications,
  connection: 'AzureWebJobsStorage',
  handler: runNotifications,
});
