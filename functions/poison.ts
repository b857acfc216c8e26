import { app, type InvocationContext } from '@azure/functions';

import { loggerFor } from '../src/adapters/functions/invocation-logger.js';
import { poisonQueueOf, type QueueName, QUEUES } from '../src/adapters/storage/storage-names.js';
import { appServices } from '../src/app-services.js';
import { drainPoisonMessage } from '../src/usecases/drain-poison.js';

/** `<queue>-poison` → the run's error log, with the reason; one drain per pipeline queue. */
export function drainPoison(queue: QueueName) {
  return async (message: unknown, context: InvocationContext): Promise<void> => {
    const dequeueCount = Number(context.triggerMetadata?.dequeueCount ?? 0);
    const result = await drainPoisonMessage(appServices().deps(), queue, message, dequeueCount);
    loggerFor(context).warn('poison message drained into the run error log', {
      queue,
      runId: result.recordedIn,
    });
  };
}

for (const queue of Object.values(QUEUES)) {
  app.storageQueue(`drain-${queue}-poison`, {
    queueName: poisonQueueOf(queue),
    connection: 'AzureWebJobsStorage',
    handler: drainPoison(queue),
  });
}
