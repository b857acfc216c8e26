import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { z } from 'zod';

import { parseBody, respond } from '../src/adapters/functions/http-api.js';
import { guardedAuthLevel } from '../src/adapters/functions/http-auth.js';
import { loggerFor } from '../src/adapters/functions/invocation-logger.js';
import { documentRoute } from '../src/adapters/functions/openapi-registry.js';
import { appServices } from '../src/app-services.js';
import { approveHeld, rejectHeld } from '../src/usecases/approve-held.js';
import { requireConnection } from '../src/usecases/resolve-tenant.js';

/**
 * A held run (deletion guard, review mode): POST /api/connections/{tenantId}/runs/{runId}/approve
 * `{ "people"?: [personId…], "by"?: "who" }` applies every held change, or the chosen people's;
 * POST …/reject `{ "by"?: "who" }` drops what is still held. Who decided comes from App Service
 * Authentication (`x-ms-client-principal-name`) when it is on, else the body's `by`.
 */
const approveBody = z
  .object({
    people: z.array(z.string().min(1)).min(1).max(10_000).optional(),
    by: z.string().max(256).optional(),
  })
  .strict();
const rejectBody = z.object({ by: z.string().max(256).optional() }).strict();

function who(request: HttpRequest, by: string | undefined): string {
  return request.headers.get('x-ms-client-principal-name') ?? by ?? 'an admin (function key)';
}

export async function approveHttp(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const deps = appServices().deps();
  const tenant = await requireConnection(deps, request.params.tenantId ?? '', { writesPeople: true });
  if (!tenant.ok) return respond(tenant);
  const body = await parseBody(request, approveBody.default({}));
  if (!body.ok) return body.response;
  const result = await approveHeld(deps, tenant.value, request.params.runId ?? '', {
    ...(body.data.people ? { people: body.data.people } : {}),
    by: who(request, body.data.by),
  });
  loggerFor(context).info('held run approved', { tenantId: tenant.value, runId: request.params.runId ?? '' });
  return respond(result);
}

export async function rejectHttp(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const deps = appServices().deps();
  const tenant = await requireConnection(deps, request.params.tenantId ?? '');
  if (!tenant.ok) return respond(tenant);
  const body = await parseBody(request, rejectBody.default({}));
  if (!body.ok) return body.response;
  const result = await rejectHeld(deps, tenant.value, request.params.runId ?? '', who(request, body.data.by));
  loggerFor(context).info('held run rejected', { tenantId: tenant.value, runId: request.params.runId ?? '' });
  return respond(result);
}

const decided = z
  .object({ runId: z.string(), state: z.string(), applied: z.unknown(), stillHeld: z.unknown() })
  .loose();
documentRoute({
  method: 'POST',
  route: 'connections/{tenantId}/runs/{runId}/approve',
  summary: "Applies a held run's changes (all, or the chosen people's), re-planned from the mirror",
  tags: ['runs'],
  auth: 'function',
  body: approveBody,
  responses: {
    200: { description: 'what was applied and what is still held', schema: decided },
    409: { description: "the run is not held, or SYNC_BUCKETS differs from the tenant's first round" },
  },
});
documentRoute({
  method: 'POST',
  route: 'connections/{tenantId}/runs/{runId}/reject',
  summary: 'Drops what a held run still holds',
  tags: ['runs'],
  auth: 'function',
  body: rejectBody,
  responses: { 200: { description: 'rejected' }, 409: { description: 'the run is not held' } },
});

app.http('approve-held-run', {
  methods: ['POST'],
  authLevel: guardedAuthLevel(),
  route: 'connections/{tenantId}/runs/{runId}/approve',
  handler: approveHttp,
});

app.http('reject-held-run', {
  methods: ['POST'],
  authLevel: guardedAuthLevel(),
  route: 'connections/{tenantId}/runs/{runId}/reject',
  handler: rejectHttp,
});
