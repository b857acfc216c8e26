import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { z } from 'zod';

import { parseQuery } from '../src/adapters/functions/http-api.js';
import { guardedAuthLevel } from '../src/adapters/functions/http-auth.js';
import { documentRoute } from '../src/adapters/functions/openapi-registry.js';
import { appServices } from '../src/app-services.js';
import { describeTenantErrors } from '../src/usecases/tenant-errors.js';

/**
 * GET /api/tenant-errors?of=<tenantId|unknown>: a tenant's error log of what belongs to no run (poison
 * with no run, requests for an unknown or disabled tenant, events for an unknown run), for any tenant id
 * a message named, connected or not; `unknown` is the log of messages that name no readable tenant.
 * (Routes under connections/{tenantId} answer 404 for a tenant with no connection.)
 */
const query = z.object({
  of: z.union([
    z.literal('unknown'),
    z
      .string()
      .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'expected a GUID or unknown')
      .transform((id) => id.toLowerCase()),
  ]),
  top: z.coerce.number().int().min(1).max(100).default(20),
});

export async function tenantErrors(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const parsed = parseQuery(request, query);
  if (!parsed.ok) return parsed.response;
  const deps = appServices().deps();
  return {
    status: 200,
    jsonBody: { tenantErrors: await describeTenantErrors(deps, parsed.data.of, parsed.data.top) },
  };
}

documentRoute({
  method: 'GET',
  route: 'tenant-errors',
  summary: "A tenant's error log of what belongs to no run (any tenant id, connected or not, or unknown)",
  tags: ['runs'],
  auth: 'function',
  query,
  responses: { 200: { description: 'tenantErrors' } },
});
app.http('tenant-errors', {
  methods: ['GET'],
  authLevel: guardedAuthLevel(),
  route: 'tenant-errors',
  handler: tenantErrors,
});
