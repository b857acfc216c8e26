import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';

import { appServices } from '../src/app-services.js';
import { describeRuns } from '../src/usecases/describe-runs.js';

/** GET /api/connections/{tenantId}/runs: the latest runs, newest first, each with its errors. */
export async function runs(request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  const tenantId = request.params.tenantId ?? '';
  const top = Math.min(Math.max(Number(request.query.get('top') ?? 10) || 10, 1), 100);
  return { status: 200, jsonBody: { runs: await describeRuns(appServices().deps(), tenantId, top) } };
}

app.http('runs', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'connections/{tenantId}/runs',
  handler: runs,
});
