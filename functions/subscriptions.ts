import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';

import { loggerFor } from '../src/adapters/functions/invocation-logger.js';
import { notificationServices } from '../src/notification-services.js';
import { describeSubscriptions } from '../src/usecases/describe-subscriptions.js';
import { maintainSubscriptions } from '../src/usecases/maintain-subscriptions.js';

/**
 * GET /api/connections/{tenantId}/subscriptions: the tenant's subscriptions (never a clientState), its
 * subscription status and the webhook's discarded-notification counts. POST: create or renew them now.
 */
export async function subscriptions(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const tenantId = (request.params.tenantId ?? '').toLowerCase();
  const deps = notificationServices().deps();
  if (!(await deps.pipeline.connections.get(tenantId))) {
    return { status: 404, jsonBody: { error: `no connection for tenant ${tenantId}` } };
  }
  if (request.method === 'POST') {
    const report = await maintainSubscriptions(deps, loggerFor(context), { tenantId });
    return {
      status: report.failed.length > 0 ? 502 : 200,
      jsonBody: { report, ...(await describeSubscriptions(deps, tenantId)) },
    };
  }
  return { status: 200, jsonBody: await describeSubscriptions(deps, tenantId) };
}

app.http('subscriptions', {
  methods: ['GET', 'POST'],
  authLevel: 'function',
  route: 'connections/{tenantId}/subscriptions',
  handler: subscriptions,
});
