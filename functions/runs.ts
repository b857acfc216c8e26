import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';

import { appServices } from '../src/app-services.js';
import { describeRuns } from '../src/usecases/describe-runs.js';
import { describeTenantErrors } from '../src/usecases/tenant-errors.js';

/**
 * GET /api/connections/{tenantId}/runs: the latest runs, newest first, each with its errors; and the
 * tenant's errors that belong to no run (`tenantErrors`: poison with no run, requests for an unknown
 * tenant, events for an unknown run). `unknown` is the log of messages that name no readable tenant.
 */
export async function runs(request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  const tenantId = request.params.tenantId ?? '';
  const top = Math.min(Math.max(Number(request.query.get('top') ?? 10) || 10, 1), 100);
  const deps = appServices().deps();
  const [runList, tenantErrors] = await Promise.all([
    describeRuns(deps, tenantId, top),
    describeTenantErrors(deps, tenantId, top),
  ]);
  return { status: 200, jsonBody: { runs: runList, tenantErrors } };
}

app.http('runs', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'connections/{tenantId}/runs',
  handler: runs,
});
