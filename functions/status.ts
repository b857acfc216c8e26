import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';

import { respond } from '../src/adapters/functions/http-api.js';
import { guardedAuthLevel } from '../src/adapters/functions/http-auth.js';
import { documentRoute } from '../src/adapters/functions/openapi-registry.js';
import { apiDeps } from '../src/api-services.js';
import { notificationServices } from '../src/notification-services.js';
import { connectionStatusSchema, describeStatus } from '../src/usecases/describe-status.js';
import { requireConnection } from '../src/usecases/resolve-tenant.js';

/**
 * GET /api/connections/{tenantId}/status: is this connection healthy? The last run (state, counts,
 * errors by category), the next due time, the delta tokens' age, the subscriptions' expiry, held
 * changes, the last permission check and open disputes.
 */
export async function statusHttp(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const api = apiDeps();
  const tenant = await requireConnection(api.pipeline, request.params.tenantId ?? '');
  if (!tenant.ok) return respond(tenant);
  const status = await describeStatus(
    {
      pipeline: api.pipeline,
      disputes: api.disputes,
      subscriptions: notificationServices().deps().subscriptions,
    },
    tenant.value,
  );
  if (!status) return { status: 404, jsonBody: { error: `no connection for tenant ${tenant.value}` } };
  return { status: 200, jsonBody: status };
}

documentRoute({
  method: 'GET',
  route: 'connections/{tenantId}/status',
  summary:
    "A connection's health: last run, next due time, delta token age, subscriptions, held changes, permissions, disputes",
  tags: ['connections'],
  auth: 'function',
  responses: { 200: { description: 'the status', schema: connectionStatusSchema } },
});
app.http('status', {
  methods: ['GET'],
  authLevel: guardedAuthLevel(),
  route: 'connections/{tenantId}/status',
  handler: statusHttp,
});
