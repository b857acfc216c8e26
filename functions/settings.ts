import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { z } from 'zod';

import { ifMatchOf, parseBody, parseQuery, respond } from '../src/adapters/functions/http-api.js';
import { loggerFor } from '../src/adapters/functions/invocation-logger.js';
import { apiDeps } from '../src/api-services.js';
import { connectionSettingsSchema } from '../src/domain/connection-settings.js';
import type { ApiResult } from '../src/usecases/api-result.js';
import {
  listSettingsHistory,
  readSettings,
  rollbackSettings,
  saveSettings,
  type SettingsView,
} from '../src/usecases/manage-settings.js';

/**
 * A connection's settings (admin API): GET and PUT /api/connections/{tenantId}/settings (a full
 * document; `If-Match: <version>` → 412 when stale), GET …/settings/history (newest first, paged),
 * POST …/settings/rollback `{ "version": N }`. A save re-projects everyone from the mirror.
 */
const tenantOf = (request: HttpRequest): string => (request.params.tenantId ?? '').toLowerCase();

function withVersion(result: ApiResult<SettingsView>): HttpResponseInit {
  return respond(result, 200, result.ok ? { etag: `"${result.value.version}"` } : undefined);
}

export async function getSettings(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  return withVersion(await readSettings(apiDeps(), tenantOf(request)));
}

export async function putSettings(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const tenantId = tenantOf(request);
  const body = await parseBody(request, connectionSettingsSchema, 'invalid settings');
  if (!body.ok) return body.response;
  const result = await saveSettings(apiDeps(), tenantId, body.data, ifMatchOf(request));
  if (result.ok) loggerFor(context).info('settings saved', { tenantId, version: result.value.version });
  return withVersion(result);
}

const historyQuery = z.object({
  top: z.coerce.number().int().min(1).max(100).default(20),
  continuationToken: z
    .string()
    .regex(/^\d{1,10}$/, 'not a continuation token of this history')
    .optional(),
});

export async function getSettingsHistory(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const query = parseQuery(request, historyQuery);
  if (!query.ok) return query.response;
  const { top, continuationToken } = query.data;
  const result = await listSettingsHistory(apiDeps(), tenantOf(request), {
    top,
    ...(continuationToken !== undefined ? { before: Number(continuationToken) } : {}),
  });
  if (!result.ok) return respond(result);
  const { versions, before } = result.value;
  return {
    status: 200,
    jsonBody: { versions, ...(before !== undefined ? { continuationToken: String(before) } : {}) },
  };
}

const rollbackBody = z.object({ version: z.number().int().min(0) }).strict();

export async function postSettingsRollback(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const tenantId = tenantOf(request);
  const body = await parseBody(request, rollbackBody);
  if (!body.ok) return body.response;
  const result = await rollbackSettings(apiDeps(), tenantId, body.data.version, ifMatchOf(request));
  if (result.ok) {
    loggerFor(context).info('settings rolled back', {
      tenantId,
      from: body.data.version,
      version: result.value.version,
    });
  }
  return withVersion(result);
}

app.http('settings-get', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'connections/{tenantId}/settings',
  handler: getSettings,
});

app.http('settings-put', {
  methods: ['PUT'],
  authLevel: 'function',
  route: 'connections/{tenantId}/settings',
  handler: putSettings,
});

app.http('settings-history', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'connections/{tenantId}/settings/history',
  handler: getSettingsHistory,
});

app.http('settings-rollback', {
  methods: ['POST'],
  authLevel: 'function',
  route: 'connections/{tenantId}/settings/rollback',
  handler: postSettingsRollback,
});
