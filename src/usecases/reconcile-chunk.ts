import type { TransactionAction } from '@azure/data-tables';

import {
  edgeFromRow,
  edgeRowKey,
  edgeToRow,
  mirrorUserFromRow,
  mirrorUserToRow,
  personFromRow,
  personToRow,
  teamMemberRowKey,
} from '../adapters/storage/directory-rows.js';
import { withPartitionLock } from '../adapters/storage/partition-lock.js';
import type { RunError } from '../adapters/storage/run-store.js';
import { TABLES } from '../adapters/storage/storage-names.js';
import { isWriteConflict, type Row, type TableGateway } from '../adapters/storage/table-gateway.js';
import { bucketPartition } from '../domain/bucket.js';
import {
  applyUserChange,
  type DirectoryChange,
  type EdgeChange,
  type MirrorEdge,
  type MirrorUser,
  type UserChange,
} from '../domain/directory.js';
import { personIdFor, teamIdFor } from '../domain/person-id.js';
import { type Person, planPerson } from '../domain/person-plan.js';
import { isOutOfDirectory } from '../domain/person-status.js';
import { teamGroupsOf } from '../domain/team-membership.js';
import { isNewer } from '../domain/version.js';
import { TransientError } from '../shared/errors.js';
import type { OutcomeCounts } from './messages.js';

export interface ChunkOutcome {
  readonly counts: OutcomeCounts;
  readonly errors: RunError[];
}

export function emptyOutcome(): { counts: Record<string, number>; errors: RunError[] } {
  return { counts: {}, errors: [] };
}

/** Most optimistic-concurrency retries before the message goes back to the queue. */
const MAX_ATTEMPTS = 6;

/**
 * Applies one bucket's user and membership changes: mirror (users, edges), projection (people with
 * ETag `If-Match`, team members), each table as batch transactions of that one partition. Under the
 * bucket's lock, so chunks of one bucket apply one at a time; idempotent (a change no newer than what
 * the mirror holds is ignored, and the mirror is written last, so a crash re-applies the rest).
 */
export async function applyUserBucket(
  tables: TableGateway,
  tenantId: string,
  bucket: number,
  changes: readonly DirectoryChange[],
  now: string,
  source: string,
): Promise<ChunkOutcome> {
  return withPartitionLock(tables, tenantId, `users:${bucket}`, async () => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await applyOnce(tables, tenantId, bucket, changes, now, source);
      } catch (error) {
        if (!isWriteConflict(error) || attempt >= MAX_ATTEMPTS) {
          if (isWriteConflict(error)) throw new TransientError(`bucket ${bucket}: writes kept conflicting`);
          throw error;
        }
      }
    }
  });
}

async function applyOnce(
  tables: TableGateway,
  tenantId: string,
  bucket: number,
  changes: readonly DirectoryChange[],
  now: string,
  source: string,
): Promise<ChunkOutcome> {
  const pk = bucketPartition(tenantId, bucket);
  const outcome = emptyOutcome();
  const count = (name: string): void => {
    outcome.counts[name] = (outcome.counts[name] ?? 0) + 1;
  };
  const userChanges = changes.filter((c): c is UserChange => c.kind === 'user').sort(byVersion);
  const edgeChanges = changes.filter((c): c is EdgeChange => c.kind === 'edge').sort(byVersion);

  // 1. Mirror users: apply every change newer than what is stored.
  const userIds = new Set(userChanges.map((c) => c.id));
  const storedUsers = await tables.readRows(TABLES.dirUsers, pk, userIds);
  const users = new Map<string, MirrorUser>();
  for (const [id, row] of storedUsers) users.set(id, mirrorUserFromRow(row));
  const changedUsers = new Map<string, MirrorUser>();
  const replays = new Set<string>();
  for (const change of userChanges) {
    const before = changedUsers.get(change.id) ?? users.get(change.id);
    if (!isNewer(change.version, before?.version)) {
      if (!changedUsers.has(change.id)) replays.add(change.id);
      continue;
    }
    changedUsers.set(change.id, applyUserChange(before, change));
    replays.delete(change.id);
  }

  // 2. Mirror edges of every member this chunk touches.
  const members = new Set<string>([...changedUsers.keys(), ...edgeChanges.map((c) => c.memberId)]);
  const edges = await readEdgesOf(tables, pk, members);
  const changedEdges: MirrorEdge[] = [];
  for (const change of edgeChanges) {
    const key = edgeRowKey(change.memberId, change.groupId);
    const before = edges.get(key);
    if (!isNewer(change.version, before?.version)) continue;
    const edge: MirrorEdge = {
      groupId: change.groupId,
      memberId: change.memberId,
      memberType: change.memberType,
      present: change.present,
      version: change.version,
    };
    edges.set(key, edge);
    changedEdges.push(edge);
  }

  // 3. People: plan each changed user's person.
  const edgesByMember = groupByMember(edges.values());
  const userMembers = [...members].filter(
    (id) => !edgesByMember.get(id)?.some((e) => e.memberType === 'group'),
  );
  const personIds = new Map(userMembers.map((id) => [id, personIdFor(tenantId, id)]));
  const storedPeople = await tables.readRows(TABLES.people, pk, personIds.values());
  const people = new Map<string, Person & { etag?: string }>();
  for (const [id, personId] of personIds) {
    const row = storedPeople.get(personId);
    if (row) people.set(id, personFromRow(row));
  }
  const personActions: TransactionAction[] = [];
  for (const [id, user] of changedUsers) {
    const existing = people.get(id);
    const plan = planPerson(tenantId, user, existing, now);
    count(plan.outcome);
    if (plan.outcome === 'failed') {
      outcome.errors.push({ category: 'invalid-data', objectId: id, message: plan.reason, source });
      continue;
    }
    if (plan.outcome === 'unchanged' || plan.outcome === 'skipped' || !plan.person) continue;
    const row = personToRow(pk, plan.person);
    personActions.push(
      existing?.etag ? ['update', row, 'Replace', { etag: existing.etag }] : ['create', row],
    );
    people.set(id, plan.person);
  }
  for (let i = 0; i < replays.size; i += 1) count('unchanged');

  // 4. Team members of every touched user: the groups it is a direct member of, while active.
  const teamActions = await planTeamMembers(tables, tenantId, pk, userMembers, edgesByMember, people);

  // 5. Write: projection first, mirror last (the mirror's version marks the change as applied).
  await tables.transact(TABLES.people, pk, personActions);
  await tables.transact(TABLES.teamMembers, pk, teamActions);
  await tables.transact(
    TABLES.dirMembers,
    pk,
    changedEdges.map((edge) => ['upsert', edgeToRow(pk, edge), 'Replace'] as const),
  );
  await tables.transact(
    TABLES.dirUsers,
    pk,
    [...changedUsers.values()].map((user) => ['upsert', mirrorUserToRow(pk, user), 'Replace'] as const),
  );
  return outcome;
}

async function planTeamMembers(
  tables: TableGateway,
  tenantId: string,
  pk: string,
  userIds: readonly string[],
  edgesByMember: ReadonlyMap<string, readonly MirrorEdge[]>,
  people: ReadonlyMap<string, Person>,
): Promise<TransactionAction[]> {
  const desired = new Map<string, Row>();
  const personIds = new Set<string>();
  for (const userId of userIds) {
    const person = people.get(userId);
    if (!person) continue;
    personIds.add(person.personId);
    const active = !isOutOfDirectory(person.status);
    for (const groupId of teamGroupsOf(edgesByMember.get(userId) ?? [], active)) {
      const teamId = teamIdFor(tenantId, groupId);
      const rowKey = teamMemberRowKey(person.personId, teamId);
      desired.set(rowKey, {
        partitionKey: pk,
        rowKey,
        teamId,
        personId: person.personId,
        sourceGroupId: groupId,
        sourceObjectId: userId,
      });
    }
  }
  const existing = await readRowsByPrefix(tables, TABLES.teamMembers, pk, personIds);
  const actions: TransactionAction[] = [];
  for (const [rowKey, row] of desired) {
    if (!existing.has(rowKey)) actions.push(['upsert', row, 'Replace']);
  }
  for (const [rowKey, row] of existing) {
    if (!desired.has(rowKey)) actions.push(['delete', { partitionKey: pk, rowKey: row.rowKey }]);
  }
  return actions;
}

/** Every edge whose member is one of `memberIds`, keyed by edge RowKey. */
async function readEdgesOf(
  tables: TableGateway,
  pk: string,
  memberIds: ReadonlySet<string>,
): Promise<Map<string, MirrorEdge>> {
  const rows = await readRowsByPrefix(tables, TABLES.dirMembers, pk, memberIds);
  const edges = new Map<string, MirrorEdge>();
  for (const [rowKey, row] of rows) edges.set(rowKey, edgeFromRow(row));
  return edges;
}

/** Rows whose RowKey starts with `<prefix>|`: a RowKey range per prefix for a few, one scan for many. */
async function readRowsByPrefix(
  tables: TableGateway,
  table: typeof TABLES.dirMembers | typeof TABLES.teamMembers,
  pk: string,
  prefixes: ReadonlySet<string>,
): Promise<Map<string, Row>> {
  const found = new Map<string, Row>();
  if (prefixes.size === 0) return found;
  if (prefixes.size <= 3) {
    const lists = await Promise.all(
      [...prefixes].map((prefix) =>
        tables.listPartition(table, pk, { rowKeyFrom: `${prefix}|`, rowKeyTo: `${prefix}}` }),
      ),
    );
    for (const row of lists.flat()) found.set(row.rowKey, row);
    return found;
  }
  for (const row of await tables.listPartition(table, pk)) {
    const prefix = row.rowKey.slice(0, row.rowKey.indexOf('|'));
    if (prefixes.has(prefix)) found.set(row.rowKey, row);
  }
  return found;
}

function groupByMember(edges: Iterable<MirrorEdge>): Map<string, MirrorEdge[]> {
  const byMember = new Map<string, MirrorEdge[]>();
  for (const edge of edges) {
    const list = byMember.get(edge.memberId);
    if (list) list.push(edge);
    else byMember.set(edge.memberId, [edge]);
  }
  return byMember;
}

function byVersion(a: { version: string }, b: { version: string }): number {
  return a.version < b.version ? -1 : a.version > b.version ? 1 : 0;
}
