import { z } from 'zod';

import type { MirrorEdge, MirrorGroup, MirrorUser } from '../../domain/directory.js';
import { type Person } from '../../domain/person-plan.js';
import { PERSON_STATUSES } from '../../domain/person-status.js';
import { groupFactsSchema, userFactsSchema } from '../../usecases/messages.js';
import type { Row } from './table-gateway.js';

/**
 * How directory objects are stored as table rows, and parsed back (a row is a boundary too).
 * Keys: dirUsers and people by `tenantId|bucket` + objectId / personId; dirMembers and teamMembers
 * in the member's bucket, so everything about one user lives in one partition.
 */
export function mirrorUserToRow(partitionKey: string, user: MirrorUser): Row {
  return {
    partitionKey,
    rowKey: user.id,
    version: user.version,
    deleted: user.deleted ?? '',
    managerId: user.managerId ?? '',
    facts: user.facts ? JSON.stringify(user.facts) : '',
  };
}

export function mirrorUserFromRow(row: Row): MirrorUser {
  const facts =
    typeof row.facts === 'string' && row.facts !== '' ? userFactsSchema.parse(JSON.parse(row.facts)) : null;
  return {
    id: row.rowKey,
    version: String(row.version),
    deleted: row.deleted === 'soft' || row.deleted === 'hard' ? row.deleted : null,
    managerId: typeof row.managerId === 'string' && row.managerId !== '' ? row.managerId : null,
    facts: facts,
  };
}

export function mirrorGroupToRow(partitionKey: string, group: MirrorGroup): Row {
  return {
    partitionKey,
    rowKey: group.id,
    version: group.version,
    deleted: group.deleted ?? '',
    facts: group.facts ? JSON.stringify(group.facts) : '',
  };
}

export function mirrorGroupFromRow(row: Row): MirrorGroup {
  const facts =
    typeof row.facts === 'string' && row.facts !== '' ? groupFactsSchema.parse(JSON.parse(row.facts)) : null;
  return {
    id: row.rowKey,
    version: String(row.version),
    deleted: row.deleted === 'soft' || row.deleted === 'hard' ? row.deleted : null,
    facts: facts,
  };
}

/** A membership edge's RowKey starts with the member, so one user's edges are a RowKey range. */
export function edgeRowKey(memberId: string, groupId: string): string {
  return `${memberId}|${groupId}`;
}

export function edgeToRow(partitionKey: string, edge: MirrorEdge): Row {
  return {
    partitionKey,
    rowKey: edgeRowKey(edge.memberId, edge.groupId),
    groupId: edge.groupId,
    memberId: edge.memberId,
    memberType: edge.memberType,
    present: edge.present,
    version: edge.version,
  };
}

export function edgeFromRow(row: Row): MirrorEdge {
  return {
    groupId: String(row.groupId),
    memberId: String(row.memberId),
    memberType: row.memberType === 'group' ? 'group' : 'user',
    present: row.present === true,
    version: String(row.version),
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
  createdAt: z.string(),
  updatedAt: z.string(),
  etag: z.string().optional(),
});

export function personToRow(partitionKey: string, person: Person): Row {
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
    createdAt: person.createdAt,
    updatedAt: person.updatedAt,
  };
}

export function personFromRow(row: Row): Person & { etag?: string } {
  const r = personRowSchema.parse(row);
  const orNull = (value: string): string | null => (value === '' ? null : value);
  return {
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
    ...(r.etag ? { etag: r.etag } : {}),
  };
}

export function teamMemberRowKey(teamId: string, personId: string): string {
  return `${teamId}|${personId}`;
}
