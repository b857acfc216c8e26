import type { PeopleCursor, PersonForEdit } from '../adapters/storage/people-store.js';
import { personHistoryRowKey, splitHistory } from '../adapters/storage/person-history-store.js';
import { coerceValue } from '../domain/coerce.js';
import type { CustomPropertyDefinition } from '../domain/custom-property.js';
import { normalizeEmail } from '../domain/matching.js';
import type { FieldValue, HistoryEntry, PersonRecord, PersonValues } from '../domain/person.js';
import type { PersonStatus } from '../domain/person-status.js';
import { PERSON_FIELDS, type PersonField } from '../domain/policy.js';
import type { ApiDeps } from './api-deps.js';
import { type ApiIssue, type ApiResult, ok, refuse } from './api-result.js';

/**
 * The app's side of the directory (GET/POST /api/people, GET/PATCH /api/people/{id}, its history):
 * people made by hand (not linked to Entra), the app's edits of fields, custom properties and status.
 * The app never touches `synced` (the three-way merge's base, sync's alone).
 */

/** A person as the API shows it: everything but the merge base and the history (its own route). */
export type PersonView = Omit<PersonRecord, 'synced' | 'history'>;

export interface PersonDetail extends PersonView {
  readonly etag: string;
  /** The person's photo, when the photo pass stored one. */
  readonly photo?: { readonly url: string; readonly etag: string };
}

/** The statuses the app may set; the others are sync's (a leaver's). */
export const APP_STATUSES = ['invited', 'active'] as const;
export type AppStatus = (typeof APP_STATUSES)[number];

export interface PersonInput {
  readonly fields: Partial<Record<PersonField, string | null>>;
  readonly custom?: Readonly<Record<string, unknown>>;
  readonly status?: AppStatus;
}

export interface PeopleQuery {
  readonly status?: PersonStatus;
  readonly team?: string;
  readonly search?: string;
  readonly top: number;
  readonly continuationToken?: string;
}

/** Rows read at most per page of a filtered list; a page may then hold fewer than `top`, with a token. */
const SCAN_BUDGET = 2_000;
const EDIT_ATTEMPTS = 5;
const HISTORY_RULE_EDITED = 'app: edited through the API';
const HISTORY_RULE_CREATED = 'app: created through the API';

export function viewOf(person: PersonRecord): PersonView {
  const { synced: _synced, history: _history, ...view } = person;
  return view;
}

export async function listPeople(
  deps: ApiDeps,
  tenantId: string,
  query: PeopleQuery,
): Promise<ApiResult<{ people: PersonView[]; continuationToken?: string }>> {
  let after: PeopleCursor | undefined;
  if (query.continuationToken !== undefined) {
    after = decodeCursor(query.continuationToken, tenantId);
    if (!after) {
      return refuse(400, 'invalid query', {
        issues: [{ path: 'continuationToken', message: 'not a continuation token of this list' }],
      });
    }
  }
  const search = query.search?.trim().toLowerCase();
  const people: PersonView[] = [];
  let scanned = 0;
  let last: PeopleCursor | undefined;
  for await (const { person, cursor } of deps.people.scan(tenantId, {
    ...(query.status ? { status: query.status } : {}),
    ...(after ? { after } : {}),
  })) {
    scanned += 1;
    last = cursor;
    if (query.team !== undefined && !person.teams.includes(query.team)) {
      if (scanned >= SCAN_BUDGET) break;
      continue;
    }
    if (search && !containsText(person, search)) {
      if (scanned >= SCAN_BUDGET) break;
      continue;
    }
    people.push(viewOf(person));
    if (people.length >= query.top || scanned >= SCAN_BUDGET) break;
  }
  const more = last !== undefined && (people.length >= query.top || scanned >= SCAN_BUDGET);
  return ok(more ? { people, continuationToken: encodeCursor(last!) } : { people });
}

function containsText(person: PersonRecord, search: string): boolean {
  return [person.displayName, person.email].some((value) => value?.toLowerCase().includes(search) ?? false);
}

export async function getPerson(
  deps: ApiDeps,
  tenantId: string,
  personId: string,
): Promise<ApiResult<PersonDetail>> {
  const read = await deps.people.get(tenantId, personId);
  if (!read) return refuse(404, `no person ${personId}`);
  return ok(await detailOf(deps, tenantId, read.person, read.etag));
}

async function detailOf(
  deps: ApiDeps,
  tenantId: string,
  person: PersonRecord,
  etag: string | undefined,
): Promise<PersonDetail> {
  const photoEtag = await deps.people.photoEtag(tenantId, person.personId);
  return {
    ...viewOf(person),
    etag: etag ?? '',
    ...(photoEtag !== undefined
      ? { photo: { url: `/api/people/${encodeURIComponent(person.personId)}/photo`, etag: photoEtag } }
      : {}),
  };
}

/** A person created by hand: origin 'app', not linked, in the email index so sync can match it. */
export async function createPerson(
  deps: ApiDeps,
  tenantId: string,
  input: PersonInput & { readonly fields: { readonly email: string } },
): Promise<ApiResult<PersonDetail>> {
  const definitions = await deps.customProperties.list(tenantId);
  const custom = coerceCustom(input.custom ?? {}, definitions);
  if (!custom.ok) return custom;
  const now = deps.pipeline.now().toISOString();
  const values = Object.fromEntries(
    PERSON_FIELDS.map((field) => [field, cleanField(field, input.fields[field] ?? null)]),
  ) as PersonValues;
  const changes = [
    ...PERSON_FIELDS.filter((field) => values[field] !== null).map((key) => ({
      key,
      from: null,
      to: values[key],
    })),
    ...Object.entries(custom.value)
      .filter(([, value]) => value !== null)
      .map(([name, to]) => ({ key: `custom.${name}`, from: null, to })),
  ];
  const person: PersonRecord = {
    ...values,
    personId: deps.newId(),
    origin: 'app',
    sourceObjectId: null,
    status: input.status ?? 'created',
    previousStatus: null,
    managerId: null,
    entraManagerId: null,
    managerProblem: null,
    custom: Object.fromEntries(Object.entries(custom.value).filter(([, value]) => value !== null)),
    synced: {},
    teams: [],
    history: [{ at: now, runId: '', kind: 'created', rule: HISTORY_RULE_CREATED, changes }],
    createdAt: now,
    updatedAt: now,
  };
  // The index first: a crash between the writes leaves an id with no row (skipped by readers), never
  // a person sync cannot match.
  if (person.email !== null) await deps.emailIndex.add(tenantId, person.email, person.personId);
  if (!(await deps.people.create(tenantId, person))) return refuse(409, `person ${person.personId} exists`);
  const read = await deps.people.get(tenantId, person.personId);
  return ok(await detailOf(deps, tenantId, read?.person ?? person, read?.etag));
}

/**
 * The app's edit of a person: built-in fields, custom properties (coerced to their definitions'
 * types), status (`invited`, `active`). Written under the row's ETag (`ifMatch`, the client's, is
 * checked first: 412), with a history entry; an unlinked person's email change moves its index entry.
 */
export async function editPerson(
  deps: ApiDeps,
  tenantId: string,
  personId: string,
  input: PersonInput,
  ifMatch: string | undefined,
): Promise<ApiResult<PersonDetail>> {
  const definitions = input.custom ? await deps.customProperties.list(tenantId) : [];
  const custom = coerceCustom(input.custom ?? {}, definitions);
  if (!custom.ok) return custom;
  for (let attempt = 0; attempt < EDIT_ATTEMPTS; attempt += 1) {
    const read = await deps.people.get(tenantId, personId);
    if (!read) return refuse(404, `no person ${personId}`);
    if (ifMatch !== undefined && ifMatch !== read.etag) {
      return refuse(412, `person ${personId} changed since it was read`, { details: { etag: read.etag } });
    }
    const edited = applyEdit(read.person, input, custom.value, deps.pipeline.now().toISOString());
    if (!edited) return ok(await detailOf(deps, tenantId, read.person, read.etag));
    const written = await write(deps, tenantId, read, edited);
    if (written) return ok(await detailOf(deps, tenantId, edited, written.etag));
    if (ifMatch !== undefined) return refuse(412, `person ${personId} changed while it was edited`);
  }
  return refuse(412, `person ${personId} kept changing while it was edited; read it again`);
}

/** The edited person with its history entry, or undefined when nothing changes. */
function applyEdit(
  person: PersonRecord,
  input: PersonInput,
  custom: Readonly<Record<string, FieldValue>>,
  now: string,
): PersonRecord | undefined {
  const changes: { key: string; from: FieldValue; to: FieldValue }[] = [];
  const values: Record<string, string | null> = {};
  for (const field of PERSON_FIELDS) {
    const given = input.fields[field];
    if (given === undefined) continue;
    const to = cleanField(field, given);
    if (to !== person[field]) {
      values[field] = to;
      changes.push({ key: field, from: person[field], to });
    }
  }
  const nextCustom: Record<string, FieldValue> = { ...person.custom };
  for (const [name, to] of Object.entries(custom)) {
    const from = person.custom[name] ?? null;
    if (JSON.stringify(from) === JSON.stringify(to)) continue;
    if (to === null) delete nextCustom[name];
    else nextCustom[name] = to;
    changes.push({ key: `custom.${name}`, from, to });
  }
  let status = person.status;
  if (input.status !== undefined && input.status !== person.status) {
    changes.push({ key: 'status', from: person.status, to: input.status });
    status = input.status;
  }
  if (changes.length === 0) return undefined;
  const entry: HistoryEntry = { at: now, runId: '', kind: 'edited', rule: HISTORY_RULE_EDITED, changes };
  return {
    ...person,
    ...values,
    custom: nextCustom,
    status,
    history: [...person.history, entry],
    updatedAt: now,
  };
}

async function write(
  deps: ApiDeps,
  tenantId: string,
  read: PersonForEdit,
  edited: PersonRecord,
): Promise<{ etag: string | undefined } | undefined> {
  const { onRow, moved } = splitHistory(edited.history);
  // Older entries first (idempotent upserts): a failed or lost race leaves at most duplicates that
  // readers drop, never a lost entry.
  if (moved.length > 0) await deps.personHistory.append(tenantId, edited.personId, moved);
  const before = read.person.email;
  const after = edited.email;
  const unlinked = edited.sourceObjectId === null;
  if (unlinked && after !== null && after !== before)
    await deps.emailIndex.add(tenantId, after, edited.personId);
  if (!(await deps.people.replace(read, { ...edited, history: onRow }))) return undefined;
  if (unlinked && before !== null && before !== after) {
    await deps.emailIndex.remove(tenantId, before, edited.personId);
  }
  const reread = await deps.people.get(tenantId, edited.personId);
  return { etag: reread?.etag };
}

function cleanField(field: PersonField, value: string | null): string | null {
  if (value === null) return null;
  const text = field === 'email' ? normalizeEmail(value) : value.trim();
  return text === '' ? null : text;
}

function coerceCustom(
  given: Readonly<Record<string, unknown>>,
  definitions: readonly CustomPropertyDefinition[],
): ApiResult<Record<string, FieldValue>> {
  const types = new Map(definitions.map((d) => [d.name, d.type]));
  const values: Record<string, FieldValue> = {};
  const issues: ApiIssue[] = [];
  for (const [name, value] of Object.entries(given)) {
    const type = types.get(name);
    if (!type) {
      issues.push({
        path: `custom.${name}`,
        message: `no custom property ${name} (GET /api/custom-properties)`,
      });
      continue;
    }
    const coerced = coerceValue(value, type);
    if (coerced.ok) values[name] = coerced.value;
    else issues.push({ path: `custom.${name}`, message: `not a ${type}: ${coerced.reason}` });
  }
  return issues.length > 0 ? refuse(400, 'invalid body', { issues }) : ok(values);
}

/** A person's history, newest first: the entries on its row, then the older ones of personHistory. */
export async function personHistory(
  deps: ApiDeps,
  tenantId: string,
  personId: string,
  page: { top: number; continuationToken?: string },
): Promise<ApiResult<{ history: HistoryEntry[]; continuationToken?: string }>> {
  const read = await deps.people.get(tenantId, personId);
  if (!read) return refuse(404, `no person ${personId}`);
  const token =
    page.continuationToken === undefined ? { offset: 0 } : decodeHistoryToken(page.continuationToken);
  if (!token) {
    return refuse(400, 'invalid query', {
      issues: [{ path: 'continuationToken', message: 'not a continuation token of this history' }],
    });
  }
  const onRow = [...read.person.history].reverse();
  const history: HistoryEntry[] = [];
  let after = '';
  if ('offset' in token) {
    history.push(...onRow.slice(token.offset, token.offset + page.top));
    const offset = token.offset + history.length;
    if (offset < onRow.length) return ok({ history, continuationToken: encodeHistoryToken({ offset }) });
  } else {
    after = token.after;
  }
  // Then the table, after `after` ('' = from its newest). An entry both on the row and in the table
  // (a move that crashed before the row was written) is shown once.
  const onRowKeys = new Set(onRow.map(personHistoryRowKey));
  const wanted = page.top - history.length;
  const { entries } = await deps.personHistory.page(tenantId, personId, wanted + 1, after || undefined);
  let examined = after;
  let full = false;
  for (const { rowKey, entry } of entries) {
    if (history.length >= page.top) {
      full = true;
      break;
    }
    examined = rowKey;
    if (!onRowKeys.has(rowKey)) history.push(entry);
  }
  if (!full && entries.length <= wanted) return ok({ history });
  return ok({ history, continuationToken: encodeHistoryToken({ after: examined }) });
}

type HistoryToken = { offset: number } | { after: string };

function encodeHistoryToken(token: HistoryToken): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

function decodeHistoryToken(text: string): HistoryToken | undefined {
  try {
    const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    if (typeof value !== 'object' || value === null) return undefined;
    if ('offset' in value && Number.isInteger(value.offset) && (value.offset as number) >= 0) {
      return { offset: value.offset as number };
    }
    if ('after' in value && typeof value.after === 'string') return { after: value.after };
  } catch {
    return undefined;
  }
  return undefined;
}

function encodeCursor(cursor: PeopleCursor): string {
  return Buffer.from(JSON.stringify([cursor.partitionKey, cursor.rowKey])).toString('base64url');
}

function decodeCursor(text: string, tenantId: string): PeopleCursor | undefined {
  try {
    const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(value) || value.length !== 2) return undefined;
    const [partitionKey, rowKey] = value as unknown[];
    if (typeof partitionKey !== 'string' || typeof rowKey !== 'string') return undefined;
    if (!partitionKey.startsWith(`${tenantId}|`)) return undefined;
    return { partitionKey, rowKey };
  } catch {
    return undefined;
  }
}
