/** Reads what the pipeline wrote (people with their teams, teams) straight from Table Storage. */
import { odata, TableClient } from '@azure/data-tables';

import type { ExpectedDirectory, ExpectedPerson } from './directory-oracle.js';

export interface ActualPerson extends ExpectedPerson {
  personId: string;
  createdAt: string;
}

export interface ActualDirectory {
  people: Map<string, ActualPerson>;
  teams: Map<string, { name: string; status: string }>;
  teamMembers: Set<string>;
  /** Rows per objectId in `people` (a duplicate person would show as 2). */
  peopleRowsPerObject: Map<string, number>;
}

async function rows(
  connectionString: string,
  table: string,
  filter: string,
): Promise<Record<string, unknown>[]> {
  const client = TableClient.fromConnectionString(connectionString, table, { allowInsecureConnection: true });
  const out: Record<string, unknown>[] = [];
  for await (const row of client.listEntities<Record<string, unknown>>({ queryOptions: { filter } }))
    out.push(row);
  return out;
}

const orNull = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);

export async function readDirectory(connectionString: string, tenantId: string): Promise<ActualDirectory> {
  const range = odata`PartitionKey ge ${`${tenantId}|`} and PartitionKey lt ${`${tenantId}}`}`;
  const peopleRows = await rows(connectionString, 'people', range);
  // A person whose user was deleted for good is unlinked: its former user says whose it was.
  const objectOf = (r: Record<string, unknown>): string =>
    orNull(r.sourceObjectId) ?? orNull(r.formerObjectId) ?? '';
  const objectOfPerson = new Map(peopleRows.map((r) => [String(r.rowKey), objectOf(r)]));
  const people = new Map<string, ActualPerson>();
  const peopleRowsPerObject = new Map<string, number>();
  for (const r of peopleRows) {
    const objectId = objectOf(r);
    peopleRowsPerObject.set(objectId, (peopleRowsPerObject.get(objectId) ?? 0) + 1);
    const managerId = orNull(r.managerId);
    people.set(objectId, {
      personId: String(r.rowKey),
      createdAt: String(r.createdAt),
      status: r.status as ExpectedPerson['status'],
      displayName: String(r.displayName),
      givenName: orNull(r.givenName),
      surname: orNull(r.surname),
      email: String(r.email),
      jobTitle: orNull(r.jobTitle),
      department: orNull(r.department),
      officeLocation: orNull(r.officeLocation),
      employeeId: orNull(r.employeeId),
      hireDate: orNull(r.hireDate),
      managerObjectId:
        managerId === null ? null : (objectOfPerson.get(managerId) ?? `no-person:${managerId}`),
      custom: JSON.parse(typeof r.custom === 'string' && r.custom !== '' ? r.custom : '{}') as Record<
        string,
        unknown
      >,
    });
  }
  const teamRows = await rows(connectionString, 'teams', odata`PartitionKey eq ${tenantId}`);
  // Teams synced from Entra by their group id; the app's own teams as `app:<name>`.
  const keyOf = (r: Record<string, unknown>): string =>
    r.origin === 'app' || orNull(r.sourceGroupId) === null
      ? `app:${String(r.name)}`
      : String(r.sourceGroupId);
  const teams = new Map(teamRows.map((r) => [keyOf(r), { name: String(r.name), status: String(r.status) }]));
  // Team membership is kept on the person row (`teams`: app team ids).
  const groupOfTeam = new Map(teamRows.map((r) => [String(r.rowKey), keyOf(r)]));
  const teamMembers = new Set<string>();
  for (const r of peopleRows) {
    // A long list is spread over `teams`, `teams_1`, … (a string property holds 32K characters).
    let teamsJson = typeof r.teams === 'string' ? r.teams : '[]';
    for (let i = 1; typeof r[`teams_${i}`] === 'string'; i += 1) teamsJson += r[`teams_${i}`] as string;
    for (const teamId of JSON.parse(teamsJson) as string[]) {
      teamMembers.add(`${groupOfTeam.get(teamId) ?? `no-team:${teamId}`}|${objectOf(r)}`);
    }
  }
  return { people, teams, teamMembers, peopleRowsPerObject };
}

/** How many present and removed memberships a user's mirror row holds (over all its pieces). */
export async function storedMemberships(
  connectionString: string,
  tenantId: string,
  objectId: string,
): Promise<{ present: number; removed: number }> {
  const range = odata`PartitionKey ge ${`${tenantId}|`} and PartitionKey lt ${`${tenantId}}`} and RowKey eq ${objectId}`;
  const [row] = await rows(connectionString, 'dirUsers', range);
  const stored = Object.entries(row ?? {})
    .filter(([name]) => name.startsWith('memberships'))
    .map(([, value]) => String(value))
    .join('');
  return {
    present: stored.split('"present":true').length - 1,
    removed: stored.split('"present":false').length - 1,
  };
}

function sorted(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * Differences between what the pipeline wrote and the oracle, as readable lines (empty = equal).
 * A manager link is compared by the manager's object id; a link to a manager who has no person in the
 * expected directory (disabled or guest managers) is reported by the reader as `no-person:…`.
 */
export function differences(actual: ActualDirectory, expected: ExpectedDirectory): string[] {
  const lines: string[] = [];
  for (const [id, want] of expected.people) {
    const got = actual.people.get(id);
    if (!got) {
      lines.push(`person ${id} missing (expected ${want.status})`);
      continue;
    }
    for (const key of Object.keys(want) as (keyof ExpectedPerson)[]) {
      if (key === 'custom') {
        if (JSON.stringify(sorted(got.custom ?? {})) !== JSON.stringify(sorted(want.custom ?? {}))) {
          lines.push(
            `person ${id} custom: got ${JSON.stringify(got.custom)}, expected ${JSON.stringify(want.custom)}`,
          );
        }
        continue;
      }
      let gotValue = got[key];
      const wantValue = want[key];
      if (key === 'managerObjectId' && wantValue !== null && !expected.people.has(wantValue)) {
        gotValue = typeof gotValue === 'string' && gotValue.startsWith('no-person:') ? wantValue : gotValue;
      }
      if (gotValue !== wantValue)
        lines.push(`person ${id} ${key}: got ${String(gotValue)}, expected ${String(wantValue)}`);
    }
  }
  for (const id of actual.people.keys()) if (!expected.people.has(id)) lines.push(`person ${id} unexpected`);
  for (const [id, count] of actual.peopleRowsPerObject)
    if (count > 1) lines.push(`person ${id} duplicated ${count} times`);
  for (const [id, want] of expected.teams) {
    const got = actual.teams.get(id);
    if (!got) lines.push(`team ${id} missing`);
    else if (got.name !== want.name || got.status !== want.status) {
      lines.push(`team ${id}: got ${got.name}/${got.status}, expected ${want.name}/${want.status}`);
    }
  }
  for (const id of actual.teams.keys()) if (!expected.teams.has(id)) lines.push(`team ${id} unexpected`);
  for (const key of expected.teamMembers)
    if (!actual.teamMembers.has(key)) lines.push(`team member ${key} missing`);
  for (const key of actual.teamMembers)
    if (!expected.teamMembers.has(key)) lines.push(`team member ${key} unexpected`);
  return lines;
}
