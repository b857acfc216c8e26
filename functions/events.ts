import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { z } from 'zod';

import { parseBody, parseQuery, respond } from '../src/adapters/functions/http-api.js';
import { guardedAuthLevel } from '../src/adapters/functions/http-auth.js';
import { documentRoute } from '../src/adapters/functions/openapi-registry.js';
import { apiDeps } from '../src/api-services.js';
import { EVENT_TYPES } from '../src/domain/person-events.js';
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

const eventSchema = z.object({
  cursor: z.string().describe('the place of this event in the feed (pass it as `after`)'),
  id: z.string().describe('stable id `<subjectId>.<seq>` (the `webhook-id` of its deliveries)'),
  type: z.enum(EVENT_TYPES),
  tenantId: z.string(),
  subject: z.enum(['person', 'team']),
  subjectId: z.string(),
  seq: z.number().int().describe('the sequence of its subject: strictly increasing'),
  at: z.string().describe('when the change was applied (ISO 8601)'),
  runId: z.string(),
  data: z
    .record(z.string(), z.unknown())
    .describe('person.created: status, values, teams; person.updated: changes [{key, from, to}]; …'),
});
documentRoute({
  method: 'GET',
  route: 'events',
  summary: 'The event feed of the app, in order, from a cursor',
  tags: ['app'],
  auth: 'function',
  query: eventsQuery,
  responses: {
    200: {
      description: 'a page of events; `cursor` is the next `after`',
      schema: z.object({ events: z.array(eventSchema), cursor: z.string().nullable(), more: z.boolean() }),
    },
  },
});
documentRoute({
  method: 'GET',
  route: 'events/dead-letters',
  summary: 'Events the app webhook refused `maxAttempts` times',
  tags: ['app'],
  auth: 'function',
  query: deadLettersQuery,
  responses: {
    200: {
      description: 'the dead letters, in feed order',
      schema: z.object({
        deadLetters: z.array(
          z.object({
            key: z.string(),
            id: z.string(),
            type: z.string(),
            subjectId: z.string(),
            attempts: z.number().int(),
            reason: z.string(),
            at: z.string(),
          }),
        ),
        cursor: z.string().nullable(),
      }),
    },
  },
});
documentRoute({
  method: 'POST',
  route: 'events/replay',
  summary: 'Send the app webhook every event after a cursor again ("" from the start)',
  tags: ['app'],
  auth: 'function',
  query: replayQuery,
  body: replayBody,
  responses: {
    202: { description: 'the cursor of the webhook moved', schema: z.object({ replayFrom: z.string() }) },
  },
});
app.http('events-read', {
  methods: ['GET'],
  authLevel: guardedAuthLevel(),
  route: 'events',
  handler: readEventsHttp,
});
app.http('events-dead-letters', {
  methods: ['GET'],
  authLevel: guardedAuthLevel(),
  route: 'events/dead-letters',
  handler: deadLettersHttp,
});
app.http('events-replay', {
  methods: ['POST'],
  authLevel: guardedAuthLevel(),
  route: 'events/replay',
  handler: replayEventsHttp,
});
