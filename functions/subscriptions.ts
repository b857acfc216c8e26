import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';

import { respond } from '../src/adapters/functions/http-api.js';
import { guardedAuthLevel } from '../src/adapters/functions/http-auth.js';
import { loggerFor } from '../src/adapters/functions/invocation-logger.js';
import { documentRoute } from '../src/adapters/functions/openapi-registry.js';
import { notificationServices } from '../src/notification-services.js';
import { describeSubscriptions } from '../src/usecases/describe-subscriptions.js';
import { maintainSubscriptions } from '../src/usecases/maintain-subscriptions.js';
import { requireConnection } from '../src/usecases/resolve-tenant.js';

/**
 * GET /api/connections/{tenantId}/subscriptions: the tenant's subscriptions (never a clientState), its
 * subscription status and the webhook's discarded-notification counts. POST: create or renew them now.
 */
export async function subscriptions(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const deps = notificationServices().deps();
  const tenant = await requireConnection(deps.pipeline, request.params.tenantId ?? '');
  if (!tenant.ok) return respond(tenant);
  const tenantId = tenant.value;
  if (request.method === 'POST') {
    const report = await maintainSubscriptions(deps, loggerFor(context), { tenantId });
    return {
      status: report.failed.length > 0 ? 502 : 200,
      jsonBody: { report, ...(await describeSubscriptions(deps, tenantId)) },
    };
  }
  return { status: 200, jsonBody: await describeSubscriptions(deps, tenantId) };
}

documentRoute({
  method: 'GET',
  route: 'connections/{tenantId}/subscriptions',
  summary: "The tenant's Graph subscriptions (never a clientState), their status, discarded notifications",
  tags: ['connections'],
  auth: 'function',
  responses: { 200: { description: 'the subscriptions' } },
});
documentRoute({
  method: 'POST',
  route: 'connections/{tenantId}/subscriptions',
  summary: "Creates or renews the tenant's subscriptions now",
  tags: ['connections'],
  auth: 'function',
  responses: {
    200: { description: 'the pass and the subscriptions' },
    502: { description: 'Graph refused some' },
  },
});
app.http('subscriptions', {
  methods: ['GET', 'POST'],
  authLevel: guardedAuthLevel(),
  route: 'connections/{tenantId}/subscriptions',
  handler: subscriptions,
});
