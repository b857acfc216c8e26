import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { z } from 'zod';

import { parseBody, parseQuery, respond } from '../src/adapters/functions/http-api.js';
import { guardedAuthLevel } from '../src/adapters/functions/http-auth.js';
import { loggerFor } from '../src/adapters/functions/invocation-logger.js';
import { documentRoute } from '../src/adapters/functions/openapi-registry.js';
import { apiDeps } from '../src/api-services.js';
import { listDisputes, resolveDispute } from '../src/usecases/resolve-disputes.js';
import { requireConnection } from '../src/usecases/resolve-tenant.js';

/**
 * Matching disputes (admin API): GET /api/connections/{tenantId}/disputes (`state` open|resolved),
 * POST …/disputes/{id} `{ "action": "link", "personId": "…" }` or `{ "action": "create" }`.
 */
const listQuery = z.object({ state: z.enum(['open', 'resolved']).optional() });
const resolveBody = z.discriminatedUnion('action', [
  z.object({ action: z.literal('link'), personId: z.string().min(1) }).strict(),
  z.object({ action: z.literal('create') }).strict(),
]);

export async function disputesHttp(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const query = parseQuery(request, listQuery);
  if (!query.ok) return query.response;
  const deps = apiDeps();
  const tenant = await requireConnection(deps.pipeline, request.params.tenantId ?? '');
  if (!tenant.ok) return respond(tenant);
  return respond(await listDisputes(deps, tenant.value, query.data.state));
}

export async function resolveDisputeHttp(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const deps = apiDeps();
  const tenant = await requireConnection(deps.pipeline, request.params.tenantId ?? '', {
    writesPeople: true,
  });
  if (!tenant.ok) return respond(tenant);
  const body = await parseBody(request, resolveBody);
  if (!body.ok) return body.response;
  const id = request.params.id ?? '';
  const result = await resolveDispute(deps, tenant.value, id, body.data);
  if (result.ok)
    loggerFor(context).info('dispute resolved', { tenantId: tenant.value, id, action: body.data.action });
  return respond(result);
}

documentRoute({
  method: 'GET',
  route: 'connections/{tenantId}/disputes',
  summary: 'Users whose email matched several people made by hand',
  tags: ['disputes'],
  auth: 'function',
  query: listQuery,
  responses: { 200: { description: 'the disputes' } },
});
documentRoute({
  method: 'POST',
  route: 'connections/{tenantId}/disputes/{id}',
  summary: 'Resolves a dispute once: link a candidate, or create a new person',
  tags: ['disputes'],
  auth: 'function',
  body: resolveBody,
  responses: {
    200: { description: 'resolved (a re-projection follows)' },
    409: { description: "already resolved, or SYNC_BUCKETS differs from the tenant's first round" },
  },
});
app.http('disputes', {
  methods: ['GET'],
  authLevel: guardedAuthLevel(),
  route: 'connections/{tenantId}/disputes',
  handler: disputesHttp,
});
app.http('dispute-resolve', {
  methods: ['POST'],
  authLevel: guardedAuthLevel(),
  route: 'connections/{tenantId}/disputes/{id}',
  handler: resolveDisputeHttp,
});
