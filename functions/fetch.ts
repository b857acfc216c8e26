import { app, type InvocationContext } from '@azure/functions';

import { loggerFor } from '../src/adapters/functions/invocation-logger.js';
import { QUEUES } from '../src/adapters/storage/storage-names.js';
import { appServices } from '../src/app-services.js';
import { ensureError } from '../src/shared/errors.js';
import { acceptMessage } from '../src/usecases/accept-message.js';
import { failRound } from '../src/usecases/fail-round.js';
import { fetchRound } from '../src/usecases/fetch-round.js';
import { handleQueueFailure } from '../src/usecases/handle-queue-failure.js';
import { syncRequestSchema } from '../src/usecases/messages.js';

/** `sync-requests` → one delta round for the tenant (lease, paging, checkpoint, fan-out). */
export async function fetch(message: unknown, context: InvocationContext): Promise<void> {
  const log = loggerFor(context);
  const deps = appServices().deps();
  const dequeueCount = Number(context.triggerMetadata?.dequeueCount ?? 0);
  const request = await acceptMessage(
    deps,
    QUEUES.syncRequests,
    syncRequestSchema,
    message,
    dequeueCount,
    log,
  );
  if (!request) return;
  try {
    await fetchRound(deps, request, log);
  } catch (error) {
    if ((await handleQueueFailure(deps, QUEUES.syncRequests, message, error, log, dequeueCount)) === false) {
      await failRound(deps, request.tenantId, ensureError(error), log);
    }
  }
}

app.storageQueue('fetch', {
  queueName: QUEUES.syncRequests,
  connection: 'AzureWebJobsStorage',
  handler: fetch,
});
