import { z } from 'zod';

import type { Membership, MirrorGroup, MirrorUser } from '../../domain/directory.js';
import type { Person } from '../../domain/person-plan.js';
import { PERSON_STATUSES } from '../../domain/person-status.js';
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

export function mirrorUserToRow(partitionKey: string, user: MirrorUser): Row {
  return {
    partitionKey,
    rowKey: user.id,
    version: user.version,
    deleted: user.deleted ?? '',
    managerId: user.managerId ?? '',
    facts: user.facts ? JSON.stringify(user.facts) : '',
    memberships: JSON.stringify(user.memberships),
  };
}

export function mirrorUserFromRow(row: Row): MirrorUser {
  return {
    id: row.rowKey,
    version: typeof row.version === 'string' ? row.version : '',
    deleted: row.deleted === 'soft' || row.deleted === 'hard' ? row.deleted : null,
    managerId: typeof row.managerId === 'string' && row.managerId !== '' ? row.managerId : null,
    facts: parseJson(row.facts, userFactsSchema.nullable(), null),
    memberships: parseJson<Record<string, Membership>>(row.memberships, membershipsSchema, {}),
  };
}

export function mirrorGroupToRow(partitionKey: string, group: MirrorGroup): Row {
  return {
    partitionKey,
    rowKey: group.id,
    version: group.version,
    deleted: group.deleted ?? '',
    facts: group.facts ? JSON.stringify(group.facts) : '',
    groupMembers: JSON.stringify(group.groupMembers),
  };
}

export function mirrorGroupFromRow(row: Row): MirrorGroup {
  return {
    id: row.rowKey,
    version: typeof row.version === 'string' ? row.version : '',
    deleted: row.deleted === 'soft' || row.deleted === 'hard' ? row.deleted : null,
    facts: parseJson(row.facts, groupFactsSchema.nullable(), null),
    groupMembers: parseJson<Record<string, Membership>>(row.groupMembers, membershipsSchema, {}),
  };
}

const personRowSchema = z.object({
  rowKey: z.string(),
  sourceObjectId: z.string(),
  status: z.enum(PERSON_STATUSES),
  previousStatus: z.union([z.enum(PERSON_STATUSES), z.literal('')]).default(''),
  displayName: z.string(),
  givenName: z.string().default(''),
  surname: z.string().default(''),
  email: z.string(),
  jobTitle: z.string().default(''),
  department: z.string().default(''),
  officeLocation: z.string().default(''),
  employeeId: z.string().default(''),
  hireDate: z.string().default(''),
  managerId: z.string().default(''),
  teams: z.string().default('[]'),
  createdAt: z.string(),
  updatedAt: z.string(),
  etag: z.string().optional(),
});

/** A person as stored: the projection, the app teams it belongs to, and the row's ETag. */
export interface StoredPerson {
  readonly person: Person;
  readonly teams: readonly string[];
  readonly etag: string | undefined;
}

export function personToRow(partitionKey: string, person: Person, teams: readonly string[]): Row {
  return {
    partitionKey,
    rowKey: person.personId,
    sourceObjectId: person.sourceObjectId,
    status: person.status,
    previousStatus: person.previousStatus ?? '',
    displayName: person.displayName,
    givenName: person.givenName ?? '',
    surname: person.surname ?? '',
    email: person.email,
    jobTitle: person.jobTitle ?? '',
    department: person.department ?? '',
    officeLocation: person.officeLocation ?? '',
    employeeId: person.employeeId ?? '',
    hireDate: person.hireDate ?? '',
    managerId: person.managerId ?? '',
    teams: JSON.stringify(teams),
    createdAt: person.createdAt,
    updatedAt: person.updatedAt,
  };
}

export function personFromRow(row: Row): StoredPerson {
  const r = personRowSchema.parse(row);
  const orNull = (value: string): string | null => (value === '' ? null : value);
  return {
    person: {
      personId: r.rowKey,
      sourceObjectId: r.sourceObjectId,
      status: r.status,
      previousStatus: r.previousStatus === '' ? null : r.previousStatus,
      displayName: r.displayName,
      givenName: orNull(r.givenName),
      surname: orNull(r.surname),
      email: r.email,
      jobTitle: orNull(r.jobTitle),
      department: orNull(r.department),
      officeLocation: orNull(r.officeLocation),
      employeeId: orNull(r.employeeId),
      hireDate: orNull(r.hireDate),
      managerId: orNull(r.managerId),
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
    },
    teams: z.array(z.string()).parse(JSON.parse(r.teams)),
    etag: r.etag,
  };
}
