import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { z } from 'zod';

import { loggerFor } from '../src/adapters/functions/invocation-logger.js';
import { documentRoute } from '../src/adapters/functions/openapi-registry.js';
import { QUEUE_OUTPUTS } from '../src/adapters/functions/output-binding-queues.js';
import { QUEUES } from '../src/adapters/storage/storage-names.js';
import { notificationServices } from '../src/notification-services.js';
import {
  answerValidation,
  MAX_NOTIFICATION_BODY_BYTES,
  MAX_VALIDATION_TOKEN_LENGTH,
  notificationBodySchema,
  receiveChangeNotifications,
  type ReceivedNotifications,
  receiveLifecycleNotifications,
  refuseOversized,
} from '../src/usecases/receive-notifications.js';

const syncRequests = QUEUE_OUTPUTS[QUEUES.syncRequests];

/**
 * Graph change notifications: POST /api/notifications. The validation handshake (`?validationToken=`)
 * is answered with the decoded token as text/plain; a notification POST is answered 202 once its
 * notifications are checked and its tenants marked dirty (the round itself runs from the queue: the
 * sync request goes out through the output binding, which wakes the fetcher at once).
 */
export async function notifications(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  return receive(request, context, receiveChangeNotifications);
}

/** Graph lifecycle notifications (`reauthorizationRequired`): POST /api/notifications/lifecycle. */
export async function lifecycleNotifications(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  return receive(request, context, receiveLifecycleNotifications);
}

async function receive(
  request: HttpRequest,
  context: InvocationContext,
  handle: typeof receiveChangeNotifications,
): Promise<HttpResponseInit> {
  const token = request.query.get('validationToken');
  if (token !== null) {
    const answer = answerValidation(token);
    return {
      status: answer.status,
      body: answer.body,
      headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' },
    };
  }
  const deps = notificationServices().deps();
  const log = loggerFor(context);
  const declared = Number(request.headers.get('content-length') ?? '0');
  const received: ReceivedNotifications =
    declared > MAX_NOTIFICATION_BODY_BYTES
      ? await refuseOversized(deps, log)
      : await handle(deps, await request.text(), log);
  if (received.requests.length > 0) context.extraOutputs.set(syncRequests, received.requests);
  return { status: received.status };
}

for (const [route, summary] of [
  ['notifications', "Graph's change notifications (and the subscription validation handshake)"],
  ['notifications/lifecycle', "Graph's lifecycle notifications (reauthorizationRequired)"],
] as const) {
  documentRoute({
    method: 'POST',
    route,
    summary,
    tags: ['graph'],
    auth: 'anonymous',
    description:
      'Called by Microsoft Graph; each notification is checked against its subscription clientState.',
    query: z.object({ validationToken: z.string().max(MAX_VALIDATION_TOKEN_LENGTH).optional() }),
    body: notificationBodySchema,
    bodyRequired: false,
    responses: {
      200: { description: 'the decoded validation token', contentType: 'text/plain', schema: z.string() },
      202: { description: 'accepted' },
      413: { description: 'over 1 MiB' },
    },
  });
}

app.http('notifications', {
  methods: ['POST'],
  authLevel: 'anonymous',
  route: 'notifications',
  extraOutputs: [syncRequests],
  handler: notifications,
});

app.http('notifications-lifecycle', {
  methods: ['POST'],
  authLevel: 'anonymous',
  route: 'notifications/lifecycle',
  extraOutputs: [syncRequests],
  handler: lifecycleNotifications,
});
