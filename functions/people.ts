import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { z } from 'zod';

import { ifMatchOf, parseBody, parseQuery, respond } from '../src/adapters/functions/http-api.js';
import { guardedAuthLevel } from '../src/adapters/functions/http-auth.js';
import { documentRoute } from '../src/adapters/functions/openapi-registry.js';
import { apiDeps } from '../src/api-services.js';
import { PERSON_STATUSES } from '../src/domain/person-status.js';
import { PERSON_FIELDS, type PersonField } from '../src/domain/policy.js';
import type { ApiDeps } from '../src/usecases/api-deps.js';
import {
  APP_STATUSES,
  createPerson,
  editPerson,
  getPerson,
  listPeople,
  type PersonDetail,
  personHistory,
  type PersonInput,
} from '../src/usecases/manage-people.js';
import { resolveAppTenant } from '../src/usecases/resolve-tenant.js';

/**
 * The app's people (function key): GET /api/people (paged; `status`, `team`, `search`), POST
 * /api/people (a person made by hand), GET and PATCH /api/people/{personId} (the row's ETag in `etag`;
 * `If-Match` optional → 412), GET /api/people/{personId}/history. `tenantId` in the query names the
 * connection (required when there are several).
 */
const email = z
  .string()
  .trim()
  .max(254)
  .regex(/^[^\s@]+@[^\s@]+$/, 'expected an email address');
const fieldValue = z.string().max(1_024).nullable().optional();
const fieldsShape = Object.fromEntries(
  PERSON_FIELDS.map((field) => [field, field === 'email' ? email.nullable().optional() : fieldValue]),
) as Record<PersonField, typeof fieldValue>;
const status = z.enum(APP_STATUSES, { error: () => `the app sets only ${APP_STATUSES.join(' or ')}` });

const patchBody = z
  .object({ ...fieldsShape, custom: z.record(z.string(), z.unknown()).optional(), status: status.optional() })
  .strict();
const postBody = patchBody.extend({ email });

const tenantQuery = z.object({ tenantId: z.string().min(1).optional() }).loose();
const listQuery = z.object({
  tenantId: z.string().min(1).optional(),
  status: z.enum(PERSON_STATUSES).optional(),
  team: z.string().min(1).optional(),
  search: z.string().min(1).max(254).optional(),
  top: z.coerce.number().int().min(1).max(200).default(50),
  continuationToken: z.string().min(1).optional(),
});
const historyQuery = z.object({
  tenantId: z.string().min(1).optional(),
  top: z.coerce.number().int().min(1).max(200).default(50),
  continuationToken: z.string().min(1).optional(),
});

function inputOf(body: z.infer<typeof patchBody>): PersonInput {
  const fields: Partial<Record<PersonField, string | null>> = {};
  for (const field of PERSON_FIELDS) if (body[field] !== undefined) fields[field] = body[field];
  return {
    fields,
    ...(body.custom ? { custom: body.custom } : {}),
    ...(body.status ? { status: body.status } : {}),
  };
}

/** The connection the request names (`tenantId` in the query) or the only one. */
async function tenantFor(
  request: HttpRequest,
  deps: ApiDeps,
): Promise<{ ok: true; tenantId: string } | { ok: false; response: HttpResponseInit }> {
  const query = parseQuery(request, tenantQuery);
  if (!query.ok) return query;
  const tenant = await resolveAppTenant(deps.pipeline, query.data.tenantId);
  return tenant.ok ? { ok: true, tenantId: tenant.value } : { ok: false, response: respond(tenant) };
}

function withEtag(status: number, person: PersonDetail): HttpResponseInit {
  return { status, jsonBody: person, headers: { etag: person.etag } };
}

export async function listPeopleHttp(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const query = parseQuery(request, listQuery);
  if (!query.ok) return query.response;
  const deps = apiDeps();
  const tenant = await tenantFor(request, deps);
  if (!tenant.ok) return tenant.response;
  const { tenantId: _tenantId, ...filters } = query.data;
  return respond(await listPeople(deps, tenant.tenantId, filters));
}

export async function createPersonHttp(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const deps = apiDeps();
  const tenant = await tenantFor(request, deps);
  if (!tenant.ok) return tenant.response;
  const body = await parseBody(request, postBody);
  if (!body.ok) return body.response;
  const input = inputOf(body.data);
  const result = await createPerson(deps, tenant.tenantId, {
    ...input,
    fields: { ...input.fields, email: body.data.email },
  });
  if (!result.ok) return respond(result);
  const created = withEtag(201, result.value);
  return { ...created, headers: { ...created.headers, location: `/api/people/${result.value.personId}` } };
}

export async function getPersonHttp(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const deps = apiDeps();
  const tenant = await tenantFor(request, deps);
  if (!tenant.ok) return tenant.response;
  const result = await getPerson(deps, tenant.tenantId, request.params.personId ?? '');
  return result.ok ? withEtag(200, result.value) : respond(result);
}

export async function patchPersonHttp(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const deps = apiDeps();
  const tenant = await tenantFor(request, deps);
  if (!tenant.ok) return tenant.response;
  const body = await parseBody(request, patchBody);
  if (!body.ok) return body.response;
  const result = await editPerson(
    deps,
    tenant.tenantId,
    request.params.personId ?? '',
    inputOf(body.data),
    ifMatchOf(request, false),
  );
  return result.ok ? withEtag(200, result.value) : respond(result);
}

export async function personHistoryHttp(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const query = parseQuery(request, historyQuery);
  if (!query.ok) return query.response;
  const deps = apiDeps();
  const tenant = await tenantFor(request, deps);
  if (!tenant.ok) return tenant.response;
  const { top, continuationToken } = query.data;
  return respond(
    await personHistory(deps, tenant.tenantId, request.params.personId ?? '', {
      top,
      ...(continuationToken !== undefined ? { continuationToken } : {}),
    }),
  );
}

const personIfMatch = z.object({
  'If-Match': z.string().optional().describe("the person's etag: 412 when stale"),
});
documentRoute({
  method: 'GET',
  route: 'people',
  summary: 'The people of the directory, paged (status, team, search)',
  tags: ['app'],
  auth: 'function',
  query: listQuery,
  responses: { 200: { description: 'a page of people (continuationToken when there are more)' } },
});
documentRoute({
  method: 'POST',
  route: 'people',
  summary: 'A person made by hand (origin app, unlinked)',
  tags: ['app'],
  auth: 'function',
  query: tenantQuery,
  body: postBody,
  responses: { 201: { description: 'created', headers: { ETag: "the person's etag", Location: 'its URL' } } },
});
documentRoute({
  method: 'GET',
  route: 'people/{personId}',
  summary: 'A person, its etag and photo',
  tags: ['app'],
  auth: 'function',
  query: tenantQuery,
  responses: {
    200: { description: 'the person', headers: { ETag: "the person's etag" } },
    404: { description: 'no such person' },
  },
});
documentRoute({
  method: 'PATCH',
  route: 'people/{personId}',
  summary: "Edits a person's fields, custom properties or app status",
  tags: ['app'],
  auth: 'function',
  query: tenantQuery,
  headers: personIfMatch,
  body: patchBody,
  responses: {
    200: { description: 'the person as saved', headers: { ETag: "the person's etag" } },
    404: { description: 'no such person' },
    412: { description: 'If-Match is stale' },
  },
});
documentRoute({
  method: 'GET',
  route: 'people/{personId}/history',
  summary: "A person's history, newest first (each change with its run and rule)",
  tags: ['app'],
  auth: 'function',
  query: historyQuery,
  responses: { 200: { description: 'a page of history entries' }, 404: { description: 'no such person' } },
});
app.http('people-list', {
  methods: ['GET'],
  authLevel: guardedAuthLevel(),
  route: 'people',
  handler: listPeopleHttp,
});
app.http('people-create', {
  methods: ['POST'],
  authLevel: guardedAuthLevel(),
  route: 'people',
  handler: createPersonHttp,
});
app.http('person-get', {
  methods: ['GET'],
  authLevel: guardedAuthLevel(),
  route: 'people/{personId}',
  handler: getPersonHttp,
});
app.http('person-patch', {
  methods: ['PATCH'],
  authLevel: guardedAuthLevel(),
  route: 'people/{personId}',
  handler: patchPersonHttp,
});
app.http('person-history', {
  methods: ['GET'],
  authLevel: guardedAuthLevel(),
  route: 'people/{personId}/history',
  handler: personHistoryHttp,
});
