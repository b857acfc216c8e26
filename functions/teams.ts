import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { z } from 'zod';

import { parseBody, parseQuery, respond } from '../src/adapters/functions/http-api.js';
import { guardedAuthLevel } from '../src/adapters/functions/http-auth.js';
import { documentRoute } from '../src/adapters/functions/openapi-registry.js';
import { apiDeps } from '../src/api-services.js';
import { createTeam, listTeams } from '../src/usecases/manage-teams.js';
import { resolveAppTenant } from '../src/usecases/resolve-tenant.js';

/**
 * The app's teams (function key): GET /api/teams (every team: synced from Entra groups, with
 * `sourceGroupId` and `status`, and the app's own), POST /api/teams `{ name, description? }` (an app
 * team, never deleted by sync). `tenantId` in the query names the connection.
 */
const tenantQuery = z.object({ tenantId: z.string().min(1).optional() }).loose();
const teamBody = z
  .object({ name: z.string().trim().min(1).max(256), description: z.string().max(1_024).optional() })
  .strict();

export async function teamsHttp(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const query = parseQuery(request, tenantQuery);
  if (!query.ok) return query.response;
  const deps = apiDeps();
  const tenant = await resolveAppTenant(deps.pipeline, query.data.tenantId);
  if (!tenant.ok) return respond(tenant);
  if (request.method === 'GET') return respond(await listTeams(deps, tenant.value));
  const body = await parseBody(request, teamBody);
  if (!body.ok) return body.response;
  return respond(await createTeam(deps, tenant.value, body.data), 201);
}

documentRoute({
  method: 'GET',
  route: 'teams',
  summary: "Every team: synced from Entra groups (sourceGroupId, status) and the app's own",
  tags: ['app'],
  auth: 'function',
  query: tenantQuery,
  responses: { 200: { description: 'the teams' } },
});
documentRoute({
  method: 'POST',
  route: 'teams',
  summary: 'A team of the app (never deleted by sync)',
  tags: ['app'],
  auth: 'function',
  query: tenantQuery,
  body: teamBody,
  responses: { 201: { description: 'created' } },
});
app.http('teams', {
  methods: ['GET', 'POST'],
  authLevel: guardedAuthLevel(),
  route: 'teams',
  handler: teamsHttp,
});
