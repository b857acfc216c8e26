import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { z } from 'zod';

import { parseBody, parseQuery, respond } from '../src/adapters/functions/http-api.js';
import { guardedAuthLevel } from '../src/adapters/functions/http-auth.js';
import { documentRoute } from '../src/adapters/functions/openapi-registry.js';
import { apiDeps } from '../src/api-services.js';
import { customPropertyListSchema } from '../src/domain/custom-property.js';
import { listCustomProperties, replaceCustomProperties } from '../src/usecases/manage-custom-properties.js';
import { resolveAppTenant } from '../src/usecases/resolve-tenant.js';

/**
 * The app's custom property definitions (function key): GET /api/custom-properties, PUT (the whole
 * list `[{ name, type, description? }]`; 409 when it deletes one a saved mapping writes). `tenantId`
 * in the query names the connection.
 */
const tenantQuery = z.object({ tenantId: z.string().min(1).optional() }).loose();

export async function customPropertiesHttp(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const query = parseQuery(request, tenantQuery);
  if (!query.ok) return query.response;
  const deps = apiDeps();
  const tenant = await resolveAppTenant(deps.pipeline, query.data.tenantId);
  if (!tenant.ok) return respond(tenant);
  if (request.method === 'GET') return respond(await listCustomProperties(deps, tenant.value));
  const body = await parseBody(request, customPropertyListSchema);
  if (!body.ok) return body.response;
  return respond(await replaceCustomProperties(deps, tenant.value, body.data));
}

documentRoute({
  method: 'GET',
  route: 'custom-properties',
  summary: "The app's custom property definitions",
  tags: ['app'],
  auth: 'function',
  query: tenantQuery,
  responses: { 200: { description: 'the definitions' } },
});
documentRoute({
  method: 'PUT',
  route: 'custom-properties',
  summary: 'Replaces the whole list of custom property definitions',
  tags: ['app'],
  auth: 'function',
  query: tenantQuery,
  body: customPropertyListSchema,
  responses: {
    200: { description: 'saved' },
    409: { description: 'it deletes a property a saved mapping writes (the mappings are named)' },
  },
});
app.http('custom-properties', {
  methods: ['GET', 'PUT'],
  authLevel: guardedAuthLevel(),
  route: 'custom-properties',
  handler: customPropertiesHttp,
});
