import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { z } from 'zod';

import { loggerFor } from '../src/adapters/functions/invocation-logger.js';
import { appServices } from '../src/app-services.js';
import { requestSync } from '../src/usecases/request-sync.js';

const bodySchema = z.object({ full: z.boolean().default(false) }).strict();

/** Admin "sync now": POST /api/connections/{tenantId}/sync `{ "full": true }` for a full reconciliation. */
export async function syncNow(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const tenantId = request.params.tenantId ?? '';
  const text = await request.text();
  const body = bodySchema.safeParse(text.trim() === '' ? {} : safeJson(text));
  if (!body.success) {
    return {
      status: 400,
      jsonBody: { error: 'invalid body', details: body.error.issues.map((i) => i.message) },
    };
  }
  const deps = appServices().deps();
  const connection = await deps.connections.get(tenantId);
  if (!connection) return { status: 404, jsonBody: { error: `no connection for tenant ${tenantId}` } };
  const requested = await requestSync(deps, tenantId, 'manual', body.data.full);
  loggerFor(context).info('sync requested by an admin', { tenantId, full: body.data.full });
  return { status: 202, jsonBody: { requested } };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

app.http('sync-now', {
  methods: ['POST'],
  authLevel: 'function',
  route: 'connections/{tenantId}/sync',
  handler: syncNow,
});
