import type { TransactionAction } from '@azure/data-tables';

import {
  mirrorUserFromRow,
  mirrorUserToRow,
  personFromRow,
  personToRow,
  type StoredPerson,
} from '../adapters/storage/directory-rows.js';
import { withPartitionLock } from '../adapters/storage/partition-lock.js';
import type { RunError } from '../adapters/storage/run-store.js';
import { TABLES } from '../adapters/storage/storage-names.js';
import { isWriteConflict, type Row, type TableGateway } from '../adapters/storage/table-gateway.js';
import { bucketPartition } from '../domain/bucket.js';
import {
  applyMembershipChange,
  applyUserChange,
  type DirectoryChange,
  type EdgeChange,
  type MirrorUser,
  unknownUser,
  type UserChange,
} from '../domain/directory.js';
import { personIdFor, teamIdFor } from '../domain/person-id.js';
import { type Person, planPerson } from '../domain/person-plan.js';
import { isOutOfDirectory } from '../domain/person-status.js';
import { teamGroupsOf } from '../domain/team-membership.js';
import { byVersion, isNewer } from '../domain/version.js';
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
 * Applies one bucket's user and membership changes: the mirror (a row per user: facts, manager,
 * memberships) and the projection (a row per person: fields, status, teams, written with ETag
 * `If-Match`), each as batch transactions of that one partition, under the bucket's lock so chunks
 * of one bucket apply one at a time. Idempotent: a change no newer than what the mirror holds is
 * ignored, and the mirror is written last, so a crash re-applies the rest.
 *
 * `fresh`: the tenant has never been synced, so nothing is read; rows are created, and if one
 * already exists (a redelivered message) the chunk is applied again the ordinary way.
 */
export async function applyUserBucket(
  tables: TableGateway,
  tenantId: string,
  bucket: number,
  changes: readonly DirectoryChange[],
  now: string,
  source: string,
  fresh = false,
): Promise<ChunkOutcome> {
  return withPartitionLock(tables, tenantId, `users:${bucket}`, async () => {
    let assumeEmpty = fresh;
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await applyOnce(tables, tenantId, bucket, changes, now, source, assumeEmpty);
      } catch (error) {
        if (!isWriteConflict(error)) throw error;
        if (attempt >= MAX_ATTEMPTS) throw new TransientError(`bucket ${bucket}: writes kept conflicting`);
        assumeEmpty = false;
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
  assumeEmpty: boolean,
): Promise<ChunkOutcome> {
  const pk = bucketPartition(tenantId, bucket);
  const outcome = emptyOutcome();
  const count = (name: string): void => {
    outcome.counts[name] = (outcome.counts[name] ?? 0) + 1;
  };
  const userChanges = changes.filter((c): c is UserChange => c.kind === 'user').sort(byVersion);
  const edgeChanges = changes
    .filter((c): c is EdgeChange => c.kind === 'edge' && c.memberType === 'user')
    .sort(byVersion);
  const ids = new Set([...userChanges.map((c) => c.id), ...edgeChanges.map((c) => c.memberId)]);
  const personIds = new Map([...ids].map((id) => [id, personIdFor(tenantId, id)]));

  // 1. Read the bucket's rows for these users (nothing when the tenant has never been synced).
  const mirrorRows = assumeEmpty ? new Map<string, Row>() : await tables.readRows(TABLES.dirUsers, pk, ids);
  const personRows = assumeEmpty
    ? new Map<string, Row>()
    : await tables.readRows(TABLES.people, pk, personIds.values());
  const stored = new Map<string, MirrorUser>();
  for (const id of ids) {
    const row = mirrorRows.get(id);
    if (row) stored.set(id, mirrorUserFromRow(row));
  }
  const storedPeople = new Map<string, StoredPerson>();
  for (const [id, personId] of personIds) {
    const row = personRows.get(personId);
    if (row) storedPeople.set(id, personFromRow(row));
  }

  // 2. Apply the changes to the mirror, in version order, ignoring what is not newer.
  const mirror = new Map(stored);
  const profileChanged = new Set<string>();
  let replays = 0;
  for (const change of userChanges) {
    const before = mirror.get(change.id);
    if (!isNewer(change.version, before?.version || undefined)) {
      replays += 1;
      continue;
    }
    mirror.set(change.id, applyUserChange(before, change));
    profileChanged.add(change.id);
  }
  for (const change of edgeChanges) {
    const before = mirror.get(change.memberId) ?? unknownUser(change.memberId);
    mirror.set(change.memberId, applyMembershipChange(before, change));
  }

  // 3. Project: plan each person whose user changed; recompute every touched person's teams.
  const personActions: TransactionAction[] = [];
  for (const id of ids) {
    const user = mirror.get(id)!;
    const existing = storedPeople.get(id);
    let person: Person | undefined = existing?.person;
    let write = false;
    if (profileChanged.has(id)) {
      const plan = planPerson(tenantId, user, person, now);
      count(plan.outcome);
      if (plan.outcome === 'failed') {
        outcome.errors.push({ category: 'invalid-data', objectId: id, message: plan.reason, source });
      } else if (plan.outcome !== 'unchanged' && plan.outcome !== 'skipped') {
        person = plan.person;
        write = true;
      }
    }
    if (!person) continue;
    const teams = teamGroupsOf(user.memberships, !isOutOfDirectory(person.status)).map((groupId) =>
      teamIdFor(tenantId, groupId),
    );
    if (!write && sameTeams(teams, existing?.teams ?? [])) continue;
    const row = personToRow(pk, write ? person : { ...person, updatedAt: now }, teams);
    personActions.push(
      existing?.etag ? ['update', row, 'Replace', { etag: existing.etag }] : ['create', row],
    );
  }
  for (let i = 0; i < replays; i += 1) count('unchanged');

  // 4. Write: the projection first, the mirror last (its versions mark the changes as applied).
  const mirrorActions: TransactionAction[] = [];
  for (const [id, user] of mirror) {
    if (user === stored.get(id)) continue;
    const row = mirrorUserToRow(pk, user);
    mirrorActions.push(assumeEmpty ? ['create', row] : ['upsert', row, 'Replace']);
  }
  await tables.transact(TABLES.people, personActions);
  await tables.transact(TABLES.dirUsers, mirrorActions);
  return outcome;
}

function sameTeams(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((team, i) => team === b[i]);
}
