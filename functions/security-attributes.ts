import { app, type InvocationContext } from '@azure/functions';

import { loggerFor } from '../src/adapters/functions/invocation-logger.js';
import { QUEUES } from '../src/adapters/storage/storage-names.js';
import { appServices } from '../src/app-services.js';
import { acceptMessage } from '../src/usecases/accept-message.js';
import { handleQueueFailure } from '../src/usecases/handle-queue-failure.js';
import { securityAttributePassRequestSchema } from '../src/usecases/messages.js';
import { readSecurityAttributes } from '../src/usecases/read-security-attributes.js';

/** `security-attribute-requests` → one tenant's custom security attributes onto its mirror rows. */
export async function securityAttributes(message: unknown, context: InvocationContext): Promise<void> {
  const log = loggerFor(context);
  const deps = appServices().deps();
  const dequeueCount = Number(context.triggerMetadata?.dequeueCount ?? 0);
  const request = await acceptMessage(
    deps,
    QUEUES.securityAttributeRequests,
    securityAttributePassRequestSchema,
    message,
    dequeueCount,
    log,
  );
  if (!request) return;
  try {
    await readSecurityAttributes(deps, request.tenantId, log);
  } catch (error) {
    await handleQueueFailure(deps, QUEUES.securityAttributeRequests, message, error, log, dequeueCount);
    log.error('custom security attribute pass failed', { tenantId: request.tenantId, error: String(error) });
  }
}

app.storageQueue('security-attributes', {
  queueName: QUEUES.securityAttributeRequests,
  connection: 'AzureWebJobsStorage',
  handler: securityAttributes,
});
