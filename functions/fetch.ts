import { app, type InvocationContext } from '@azure/functions';

import { loggerFor } from '../src/adapters/functions/invocation-logger.js';
import { QUEUE_OUTPUTS } from '../src/adapters/functions/output-binding-queues.js';
import { QUEUES } from '../src/adapters/storage/storage-names.js';
import { appServices } from '../src/app-services.js';
import { notificationServices } from '../src/notification-services.js';
import { ensureError } from '../src/shared/errors.js';
import { acceptMessage } from '../src/usecases/accept-message.js';
import { failRound } from '../src/usecases/fail-round.js';
import { fetchRound } from '../src/usecases/fetch-round.js';
import { handleQueueFailure } from '../src/usecases/handle-queue-failure.js';
import { syncRequestSchema } from '../src/usecases/messages.js';
import { settleNotificationRequest } from '../src/usecases/notification-requests.js';

/**
 * `sync-requests` → one delta round for the tenant (lease, paging, checkpoint, fan-out). A round asked
 * for by change notifications waits out its debounce first. An incremental round publishes through the
 * queue output bindings (the fast path: the host wakes the reconcilers and the finalizer at once).
 */
export async function fetch(message: unknown, context: InvocationContext): Promise<void> {
  const log = loggerFor(context);
  const base = appServices().deps();
  const dequeueCount = Number(context.triggerMetadata?.dequeueCount ?? 0);
  const request = await acceptMessage(
    base,
    QUEUES.syncRequests,
    syncRequestSchema,
    message,
    dequeueCount,
    log,
  );
  if (!request) return;
  const fast = request.trigger === 'notification' ? notificationServices() : undefined;
  // The fast path: the round's messages leave through the output bindings as it returns; a full round
  // sends each as it goes instead (its fetch runs for minutes, fetch-round.ts).
  const queues = appServices().outputQueues();
  const deps = { ...base, queues };
  try {
    if (fast) await settleNotificationRequest(fast.deps(), request);
    try {
      await fetchRound(deps, request, log);
    } catch (error) {
      if (
        (await handleQueueFailure(deps, QUEUES.syncRequests, message, error, log, dequeueCount)) === false
      ) {
        await failRound(deps, request.tenantId, ensureError(error), log);
      }
    }
  } catch (error) {
    await queues.sendKeptNow();
    throw error;
  }
  queues.handTo(context);
}

app.storageQueue('fetch', {
  queueName: QUEUES.syncRequests,
  connection: 'AzureWebJobsStorage',
  extraOutputs: Object.values(QUEUE_OUTPUTS),
  handler: fetch,
});
