import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { z } from 'zod';

import { ifMatchOf, parseBody, parseQuery, respond } from '../src/adapters/functions/http-api.js';
import { guardedAuthLevel } from '../src/adapters/functions/http-auth.js';
import { loggerFor } from '../src/adapters/functions/invocation-logger.js';
import { documentRoute } from '../src/adapters/functions/openapi-registry.js';
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
import { requireConnection } from '../src/usecases/resolve-tenant.js';

/**
 * A connection's settings (admin API): GET and PUT /api/connections/{tenantId}/settings (a full
 * document; `If-Match: <version>` → 412 when stale), GET …/settings/history (newest first, paged),
 * POST …/settings/rollback `{ "version": N }`. A save re-projects everyone from the mirror.
 */
const tenantOf = (request: HttpRequest): Promise<ApiResult<string>> =>
  requireConnection(apiDeps().pipeline, request.params.tenantId ?? '');

function withVersion(result: ApiResult<SettingsView>): HttpResponseInit {
  return respond(result, 200, result.ok ? { etag: `"${result.value.version}"` } : undefined);
}

export async function getSettings(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const tenant = await tenantOf(request);
  if (!tenant.ok) return respond(tenant);
  return withVersion(await readSettings(apiDeps(), tenant.value));
}

export async function putSettings(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const tenant = await tenantOf(request);
  if (!tenant.ok) return respond(tenant);
  const tenantId = tenant.value;
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
  const tenant = await tenantOf(request);
  if (!tenant.ok) return respond(tenant);
  const query = parseQuery(request, historyQuery);
  if (!query.ok) return query.response;
  const { top, continuationToken } = query.data;
  const result = await listSettingsHistory(apiDeps(), tenant.value, {
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
  const tenant = await tenantOf(request);
  if (!tenant.ok) return respond(tenant);
  const tenantId = tenant.value;
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

const settingsView = z.object({ settings: z.unknown(), version: z.number().int() }).loose();
const ifMatch = z.object({ 'If-Match': z.string().optional().describe('the version read: 412 when stale') });
documentRoute({
  method: 'GET',
  route: 'connections/{tenantId}/settings',
  summary: 'The settings document and its version (also the ETag)',
  tags: ['settings'],
  auth: 'function',
  responses: { 200: { description: 'the settings', schema: settingsView, headers: { ETag: 'the version' } } },
});
documentRoute({
  method: 'PUT',
  route: 'connections/{tenantId}/settings',
  summary: 'Saves a full settings document (version + 1) and re-projects everyone',
  tags: ['settings'],
  auth: 'function',
  headers: ifMatch,
  body: connectionSettingsSchema,
  responses: {
    200: { description: 'saved', schema: settingsView, headers: { ETag: 'the new version' } },
    412: { description: 'If-Match names an older version' },
  },
});
documentRoute({
  method: 'GET',
  route: 'connections/{tenantId}/settings/history',
  summary: 'Saved versions, newest first',
  tags: ['settings'],
  auth: 'function',
  query: historyQuery,
  responses: { 200: { description: 'a page of versions' } },
});
documentRoute({
  method: 'POST',
  route: 'connections/{tenantId}/settings/rollback',
  summary: "Saves an older version's document as a new version",
  tags: ['settings'],
  auth: 'function',
  headers: ifMatch,
  body: rollbackBody,
  responses: {
    200: { description: 'saved', schema: settingsView, headers: { ETag: 'the new version' } },
    412: { description: 'If-Match names an older version' },
  },
});

app.http('settings-get', {
  methods: ['GET'],
  authLevel: guardedAuthLevel(),
  route: 'connections/{tenantId}/settings',
  handler: getSettings,
});

app.http('settings-put', {
  methods: ['PUT'],
  authLevel: guardedAuthLevel(),
  route: 'connections/{tenantId}/settings',
  handler: putSettings,
});

app.http('settings-history', {
  methods: ['GET'],
  authLevel: guardedAuthLevel(),
  route: 'connections/{tenantId}/settings/history',
  handler: getSettingsHistory,
});

app.http('settings-rollback', {
  methods: ['POST'],
  authLevel: guardedAuthLevel(),
  route: 'connections/{tenantId}/settings/rollback',
  handler: postSettingsRollback,
});
