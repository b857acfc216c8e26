import { z } from 'zod';

import type { JsonValue, Membership, MirrorGroup, MirrorUser } from '../../domain/directory.js';
import type { PersonRecord, PersonValues } from '../../domain/person.js';
import { PERSON_STATUSES } from '../../domain/person-status.js';
import { PERSON_FIELDS } from '../../domain/policy.js';
import { groupFactsSchema, userFactsSchema } from '../../usecases/messages.js';
import type { Row } from './table-gateway.js';

/**
 * How directory objects are stored as table rows, and parsed back (a row is a boundary too).
 * dirUsers and people are partitioned `tenantId|bucket` of the user's object id: everything about
 * one user (its facts, its memberships, its person and the person's teams) is two rows of one
 * partition, so a chunk of a bucket is written as full batch transactions.
 */
const membershipsSchema = z.record(z.string(), z.object({ present: z.boolean(), version: z.string() }));

function parseJson<T>(value: unknown, schema: z.ZodType<T>, fallback: T): T {
  return typeof value === 'string' && value !== '' ? schema.parse(JSON.parse(value)) : fallback;
}

/**
 * A string property holds at most 32K UTF-16 units: a long JSON value (the memberships of a user in
 * thousands of groups, the teams of its person) is spread over `name`, `name_1`, … `name_15`, pieces
 * of one row, so a user stays one entity (up to Table Storage's 1 MiB, which the gateway checks).
 */
const PIECE_UNITS = 30_000;
export const MAX_PIECES = 16;

export function spreadText(name: string, text: string): Record<string, string> {
  const pieces: Record<string, string> = { [name]: text.slice(0, PIECE_UNITS) };
  for (let i = 1; i * PIECE_UNITS < text.length; i += 1) {
    pieces[`${name}_${i}`] = text.slice(i * PIECE_UNITS, (i + 1) * PIECE_UNITS);
  }
  return pieces;
}

export function gatherText(row: Row, name: string): string {
  let text = typeof row[name] === 'string' ? row[name] : '';
  for (let i = 1; typeof row[`${name}_${i}`] === 'string'; i += 1) text += row[`${name}_${i}`] as string;
  return text;
}

/** The columns that hold a spread property (for `$select`). */
export function spreadColumns(name: string): string[] {
  return [name, ...Array.from({ length: MAX_PIECES - 1 }, (_, i) => `${name}_${i + 1}`)];
}

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

export function mirrorUserToRow(partitionKey: string, user: MirrorUser): Row {
  return {
    partitionKey,
    rowKey: user.id,
    version: user.version,
    deleted: user.deleted ?? '',
    managerId: user.managerId ?? '',
    managerVersion: user.managerVersion,
    factsVersion: user.factsVersion,
    facts: user.facts ? JSON.stringify(user.facts) : '',
    ...spreadText('memberships', JSON.stringify(user.memberships)),
    ...(user.securityAttributes
      ? {
          securityAttributes: JSON.stringify(user.securityAttributes),
          securityAttributesAt: user.securityAttributesAt ?? '',
        }
      : {}),
  };
}

export function mirrorUserFromRow(row: Row): MirrorUser {
  return {
    id: row.rowKey,
    version: text(row.version),
    deleted: row.deleted === 'soft' || row.deleted === 'hard' ? row.deleted : null,
    managerId: text(row.managerId) === '' ? null : text(row.managerId),
    managerVersion: text(row.managerVersion),
    factsVersion: text(row.factsVersion),
    facts: parseJson(row.facts, userFactsSchema.nullable(), null),
    memberships: parseJson<Record<string, Membership>>(gatherText(row, 'memberships'), membershipsSchema, {}),
    ...(typeof row.securityAttributes === 'string' && row.securityAttributes !== ''
      ? {
          securityAttributes: parseJson(row.securityAttributes, securityAttributesSchema, {}),
          securityAttributesAt: text(row.securityAttributesAt),
        }
      : {}),
  };
}

const securityAttributesSchema = z.record(z.string(), z.record(z.string(), jsonValueSchema()));

function jsonValueSchema(): z.ZodType<JsonValue> {
  return z.lazy(() =>
    z.union([
      z.string(),
      z.number(),
      z.boolean(),
      z.null(),
      z.array(jsonValueSchema()),
      z.record(z.string(), jsonValueSchema()),
    ]),
  );
}

export function mirrorGroupToRow(partitionKey: string, group: MirrorGroup): Row {
  return {
    partitionKey,
    rowKey: group.id,
    version: group.version,
    deleted: group.deleted ?? '',
    deletionVersion: group.deletionVersion,
    facts: group.facts ? JSON.stringify(group.facts) : '',
    ...spreadText('groupMembers', JSON.stringify(group.groupMembers)),
  };
}

export function mirrorGroupFromRow(row: Row): MirrorGroup {
  return {
    id: row.rowKey,
    version: text(row.version),
    deleted: row.deleted === 'soft' || row.deleted === 'hard' ? row.deleted : null,
    deletionVersion: text(row.deletionVersion),
    facts: parseJson(row.facts, groupFactsSchema.nullable(), null),
    groupMembers: parseJson<Record<string, Membership>>(
      gatherText(row, 'groupMembers'),
      membershipsSchema,
      {},
    ),
  };
}

const fieldValueSchema = z.union([z.string(), z.number(), z.boolean(), z.array(z.string()), z.null()]);
const historySchema = z.array(
  z.object({
    at: z.string(),
    runId: z.string(),
    kind: z.string(),
    rule: z.string(),
    changes: z.array(z.object({ key: z.string(), from: fieldValueSchema, to: fieldValueSchema })).optional(),
  }),
);

const personRowSchema = z.object({
  rowKey: z.string(),
  origin: z.enum(['entra', 'app']).default('entra'),
  sourceObjectId: z.string().default(''),
  formerObjectId: z.string().default(''),
  status: z.enum(PERSON_STATUSES),
  previousStatus: z.union([z.enum(PERSON_STATUSES), z.literal('')]).default(''),
  displayName: z.string().default(''),
  givenName: z.string().default(''),
  surname: z.string().default(''),
  email: z.string().default(''),
  jobTitle: z.string().default(''),
  department: z.string().default(''),
  officeLocation: z.string().default(''),
  employeeId: z.string().default(''),
  hireDate: z.string().default(''),
  managerId: z.string().default(''),
  entraManagerId: z.string().default(''),
  managerProblem: z.string().default(''),
  custom: z.string().default('{}'),
  synced: z.string().default('{}'),
  createdAt: z.string(),
  updatedAt: z.string(),
  etag: z.string().optional(),
});

/** A person as stored, with the row's ETag. */
export interface StoredPerson {
  readonly person: PersonRecord;
  readonly etag: string | undefined;
}

/** The columns of a people row that a person's fields occupy (built-in fields as their own columns). */
export function personToRow(partitionKey: string, person: PersonRecord): Row {
  const row: Row = {
    partitionKey,
    rowKey: person.personId,
    origin: person.origin,
    sourceObjectId: person.sourceObjectId ?? '',
    formerObjectId: person.formerObjectId ?? '',
    status: person.status,
    previousStatus: person.previousStatus ?? '',
    managerId: person.managerId ?? '',
    entraManagerId: person.entraManagerId ?? '',
    managerProblem: person.managerProblem ?? '',
    custom: JSON.stringify(person.custom),
    synced: JSON.stringify(person.synced),
    ...spreadText('teams', JSON.stringify(person.teams)),
    ...spreadText('history', JSON.stringify(person.history)),
    createdAt: person.createdAt,
    updatedAt: person.updatedAt,
  };
  for (const field of PERSON_FIELDS) row[field] = person[field] ?? '';
  return row;
}

export function personFromRow(row: Row): StoredPerson {
  const r = personRowSchema.parse(row);
  const orNull = (value: string): string | null => (value === '' ? null : value);
  const values = Object.fromEntries(PERSON_FIELDS.map((field) => [field, orNull(r[field])])) as PersonValues;
  return {
    person: {
      ...values,
      personId: r.rowKey,
      origin: r.origin,
      sourceObjectId: orNull(r.sourceObjectId),
      formerObjectId: orNull(r.formerObjectId),
      status: r.status,
      previousStatus: r.previousStatus === '' ? null : r.previousStatus,
      managerId: orNull(r.managerId),
      entraManagerId: orNull(r.entraManagerId),
      managerProblem: orNull(r.managerProblem),
      custom: z.record(z.string(), fieldValueSchema).parse(JSON.parse(r.custom)),
      synced: z.record(z.string(), fieldValueSchema).parse(JSON.parse(r.synced)),
      teams: z.array(z.string()).parse(JSON.parse(gatherText(row, 'teams') || '[]')),
      history: historySchema.parse(JSON.parse(gatherText(row, 'history') || '[]')),
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
    },
    etag: r.etag,
  };
}
