import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { z } from 'zod';

import { parseQuery, respond } from '../src/adapters/functions/http-api.js';
import { guardedAuthLevel } from '../src/adapters/functions/http-auth.js';
import { documentRoute } from '../src/adapters/functions/openapi-registry.js';
import { appServices } from '../src/app-services.js';
import { describeRuns, findRun } from '../src/usecases/describe-runs.js';
import { requireConnection } from '../src/usecases/resolve-tenant.js';
import { describeTenantErrors } from '../src/usecases/tenant-errors.js';

/**
 * GET /api/connections/{tenantId}/runs: the latest runs, newest first, each with its errors; and the
 * tenant's errors that belong to no run (`tenantErrors`: poison with no run, requests for an unknown
 * tenant, events for an unknown run). `unknown` is the log of messages that name no readable tenant.
 * GET …/runs/{id}: one run, by its run id or by the `requestId` POST …/sync answered.
 */
const listQuery = z.object({ top: z.coerce.number().int().min(1).max(100).default(10) });

export async function runs(request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  const deps = appServices().deps();
  const tenant = await requireConnection(deps, request.params.tenantId ?? '');
  if (!tenant.ok) return respond(tenant);
  const query = parseQuery(request, listQuery);
  if (!query.ok) return query.response;
  const [runList, tenantErrors] = await Promise.all([
    describeRuns(deps, tenant.value, query.data.top),
    describeTenantErrors(deps, tenant.value, query.data.top),
  ]);
  return { status: 200, jsonBody: { runs: runList, tenantErrors } };
}

export async function runHttp(request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  const deps = appServices().deps();
  const tenant = await requireConnection(deps, request.params.tenantId ?? '');
  if (!tenant.ok) return respond(tenant);
  const id = request.params.runId ?? '';
  const run = await findRun(deps, tenant.value, id);
  if (!run) return { status: 404, jsonBody: { error: `no run ${id} (yet) for tenant ${tenant.value}` } };
  return { status: 200, jsonBody: run };
}

documentRoute({
  method: 'GET',
  route: 'connections/{tenantId}/runs',
  summary: "The latest runs, newest first, with counts and errors; the tenant's errors of no run",
  tags: ['runs'],
  auth: 'function',
  query: listQuery,
  responses: { 200: { description: 'runs and tenantErrors' } },
});
documentRoute({
  method: 'GET',
  route: 'connections/{tenantId}/runs/{runId}',
  summary: 'One run, by its id or by the requestId POST …/sync answered',
  tags: ['runs'],
  auth: 'function',
  responses: {
    200: { description: 'the run' },
    404: { description: 'no such run (a requested round that has not started yet)' },
  },
});
app.http('runs', {
  methods: ['GET'],
  authLevel: guardedAuthLevel(),
  route: 'connections/{tenantId}/runs',
  handler: runs,
});
app.http('run', {
  methods: ['GET'],
  authLevel: guardedAuthLevel(),
  route: 'connections/{tenantId}/runs/{runId}',
  handler: runHttp,
});
