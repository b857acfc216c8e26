import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { z } from 'zod';

import { parseQuery, respond } from '../src/adapters/functions/http-api.js';
import { guardedAuthLevel } from '../src/adapters/functions/http-auth.js';
import { loggerFor } from '../src/adapters/functions/invocation-logger.js';
import { documentRoute } from '../src/adapters/functions/openapi-registry.js';
import { connectServices } from '../src/connect-services.js';
import { tenantIdOf } from '../src/domain/consent.js';
import { disconnectTenant } from '../src/usecases/disconnect-tenant.js';

const querySchema = z.object({ purge: z.enum(['true', 'false']).default('false') }).strict();

/**
 * DELETE /api/connections/{tenantId}?purge=true|false: the connection disabled (no schedule, no
 * notification rounds), its Graph subscriptions deleted; its data kept, or deleted with purge=true
 * (and the connection row with it). An admin route.
 */
export async function disconnect(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const tenantId = tenantIdOf(request.params.tenantId);
  if (!tenantId) {
    return {
      status: 400,
      jsonBody: { error: 'invalid tenant id', issues: [{ path: 'tenantId', message: 'expected a GUID' }] },
    };
  }
  const query = parseQuery(request, querySchema);
  if (!query.ok) return query.response;
  const services = connectServices();
  const result = await disconnectTenant(
    services.notifications.deps(),
    services.purger(),
    tenantId,
    { purge: query.data.purge === 'true' },
    loggerFor(context),
  );
  return respond(result);
}

documentRoute({
  method: 'DELETE',
  route: 'connections/{tenantId}',
  summary: 'Disconnect a tenant (its data kept, or purged)',
  tags: ['connections'],
  auth: 'function',
  query: querySchema,
  responses: {
    200: {
      description: 'disconnected',
      schema: z.object({
        tenantId: z.string(),
        disabled: z.literal(true),
        subscriptionsRemoved: z.number().int(),
        purged: z
          .object({ rows: z.record(z.string(), z.number().int()), blobs: z.number().int() })
          .optional(),
      }),
    },
  },
});

app.http('disconnect', {
  methods: ['DELETE'],
  authLevel: guardedAuthLevel(),
  route: 'connections/{tenantId}',
  handler: disconnect,
});
