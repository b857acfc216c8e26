import { randomUUID } from 'node:crypto';

import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { z } from 'zod';

import { parseBody, respond } from '../src/adapters/functions/http-api.js';
import { guardedAuthLevel } from '../src/adapters/functions/http-auth.js';
import { loggerFor } from '../src/adapters/functions/invocation-logger.js';
import { documentRoute } from '../src/adapters/functions/openapi-registry.js';
import { QUEUE_OUTPUTS } from '../src/adapters/functions/output-binding-queues.js';
import { QUEUES } from '../src/adapters/storage/storage-names.js';
import { appServices } from '../src/app-services.js';
import { requestSync } from '../src/usecases/request-sync.js';
import { requireConnection } from '../src/usecases/resolve-tenant.js';

export const syncBodySchema = z.object({ full: z.boolean().default(false) }).strict();

/**
 * Admin "sync now": POST /api/connections/{tenantId}/sync `{ "full": true }` for a full reconciliation.
 * 202 with a `requestId`: the run that answers it (the next round, or the one it joins) carries it, so
 * GET …/runs/{requestId} finds it once it has started.
 */
export async function syncNow(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const services = appServices();
  const deps = services.deps();
  const tenant = await requireConnection(deps, request.params.tenantId ?? '');
  if (!tenant.ok) return respond(tenant);
  const body = await parseBody(request, syncBodySchema.default({ full: false }));
  if (!body.ok) return body.response;
  const requestId = randomUUID();
  // The request leaves through the output binding: the host wakes the fetcher at once.
  const queues = services.outputQueues();
  const requested = await requestSync({ ...deps, queues }, tenant.value, 'manual', body.data.full, [
    requestId,
  ]);
  queues.handTo(context);
  loggerFor(context).info('sync requested by an admin', {
    tenantId: tenant.value,
    full: body.data.full,
    requestId,
  });
  return {
    status: 202,
    jsonBody: { requestId, requested, run: `/api/connections/${tenant.value}/runs/${requestId}` },
  };
}

documentRoute({
  method: 'POST',
  route: 'connections/{tenantId}/sync',
  summary: 'Requests a round now (a full reconciliation with `full: true`)',
  tags: ['runs'],
  auth: 'function',
  body: syncBodySchema,
  responses: {
    202: {
      description: 'requested: GET the `run` URL (…/runs/{requestId}) once the round has started',
      schema: z.object({ requestId: z.string(), requested: z.unknown(), run: z.string() }),
    },
  },
});
app.http('sync-now', {
  methods: ['POST'],
  authLevel: guardedAuthLevel(),
  route: 'connections/{tenantId}/sync',
  extraOutputs: [QUEUE_OUTPUTS[QUEUES.syncRequests]],
  handler: syncNow,
});
