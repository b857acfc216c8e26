import { app, type InvocationContext } from '@azure/functions';

import { loggerFor } from '../src/adapters/functions/invocation-logger.js';
import { QUEUES } from '../src/adapters/storage/storage-names.js';
import { appServices } from '../src/app-services.js';
import { acceptMessage } from '../src/usecases/accept-message.js';
import { handleQueueFailure } from '../src/usecases/handle-queue-failure.js';
import { photoPassRequestSchema } from '../src/usecases/messages.js';
import { runPhotoPass } from '../src/usecases/photo-pass.js';

/** `photo-requests` → one tenant's photo pass (metadata in $batch, downloads of changed photos only). */
export async function photos(message: unknown, context: InvocationContext): Promise<void> {
  const log = loggerFor(context);
  const deps = appServices().deps();
  const dequeueCount = Number(context.triggerMetadata?.dequeueCount ?? 0);
  const request = await acceptMessage(
    deps,
    QUEUES.photoRequests,
    photoPassRequestSchema,
    message,
    dequeueCount,
    log,
  );
  if (!request) return;
  try {
    await runPhotoPass(deps, request.tenantId, log);
  } catch (error) {
    await handleQueueFailure(deps, QUEUES.photoRequests, message, error, log, dequeueCount);
    log.error('photo pass failed', { tenantId: request.tenantId, error: String(error) });
  }
}

app.storageQueue('photos', {
  queueName: QUEUES.photoRequests,
  connection: 'AzureWebJobsStorage',
  handler: photos,
});
