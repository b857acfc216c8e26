import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { z } from 'zod';

import { parseBody, parseQuery, respond } from '../src/adapters/functions/http-api.js';
import { apiDeps } from '../src/api-services.js';
import { eventServices } from '../src/event-services.js';
import { listDeadLetters, readEvents, replayEvents } from '../src/usecases/read-events.js';
import { resolveAppTenant } from '../src/usecases/resolve-tenant.js';

/**
 * The app's event feed (function key): GET /api/events?after=<cursor>&limit= (in order; `cursor` of
 * the answer is the next `after`), GET /api/events/dead-letters (what the app webhook refused too
 * often), POST /api/events/replay `{ "after": <cursor> }` (the webhook is sent everything after it
 * again; `""` from the start). `tenantId` in the query names the connection (required when there are
 * several).
 */
const cursor = z
  .string()
  .max(512)
  .regex(/^[0-9A-Za-z_.:-]*$/, 'expected a cursor from an earlier answer');

const eventsQuery = z.object({
  tenantId: z.string().min(1).optional(),
  after: cursor.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
const deadLettersQuery = z.object({
  tenantId: z.string().min(1).optional(),
  after: cursor.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
const replayQuery = z.object({ tenantId: z.string().min(1).optional() });
const replayBody = z.object({ after: cursor }).strict();

export async function readEventsHttp(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const query = parseQuery(request, eventsQuery);
  if (!query.ok) return query.response;
  const deps = apiDeps().pipeline;
  const tenant = await resolveAppTenant(deps, query.data.tenantId);
  if (!tenant.ok) return respond(tenant);
  return respond(
    await readEvents(deps, tenant.value, {
      ...(query.data.after !== undefined ? { after: query.data.after } : {}),
      limit: query.data.limit,
      settleMs: eventServices().settings.SYNC_EVENTS_SETTLE_MS,
    }),
  );
}

export async function deadLettersHttp(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const query = parseQuery(request, deadLettersQuery);
  if (!query.ok) return query.response;
  const deps = apiDeps().pipeline;
  const tenant = await resolveAppTenant(deps, query.data.tenantId);
  if (!tenant.ok) return respond(tenant);
  return respond(
    await listDeadLetters(deps, tenant.value, {
      ...(query.data.after !== undefined ? { after: query.data.after } : {}),
      limit: query.data.limit,
    }),
  );
}

export async function replayEventsHttp(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const query = parseQuery(request, replayQuery);
  if (!query.ok) return query.response;
  const body = await parseBody(request, replayBody);
  if (!body.ok) return body.response;
  const deps = apiDeps().pipeline;
  const tenant = await resolveAppTenant(deps, query.data.tenantId);
  if (!tenant.ok) return respond(tenant);
  return respond(await replayEvents(deps, tenant.value, body.data.after), 202);
}

app.http('events-read', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'events',
  handler: readEventsHttp,
});
app.http('events-dead-letters', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'events/dead-letters',
  handler: deadLettersHttp,
});
app.http('events-replay', {
  methods: ['POST'],
  authLevel: 'function',
  route: 'events/replay',
  handler: replayEventsHttp,
});
