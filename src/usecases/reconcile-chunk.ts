import { odata, type TransactionAction } from '@azure/data-tables';

import {
  mirrorUserFromRow,
  mirrorUserToRow,
  personFromRow,
  personToRow,
  type StoredPerson,
} from '../adapters/storage/directory-rows.js';
import { type PartitionLease, withPartitionLock } from '../adapters/storage/partition-lock.js';
import type { RunError } from '../adapters/storage/run-store.js';
import { TABLES } from '../adapters/storage/storage-names.js';
import { isWriteConflict, type Row, type TableGateway } from '../adapters/storage/table-gateway.js';
import { checkEntity, TableLimitError } from '../adapters/storage/table-limits.js';
import { bucketPartition } from '../domain/bucket.js';
import {
  applyMembershipChange,
  applyUserChange,
  type DirectoryChange,
  type EdgeChange,
  type MirrorUser,
  unknownUser,
  type UserChange,
  withoutSettledRemovals,
} from '../domain/directory.js';
import { personIdFor, teamIdFor } from '../domain/person-id.js';
import { type Outcome, type Person, planPerson } from '../domain/person-plan.js';
import { isOutOfDirectory } from '../domain/person-status.js';
import { teamGroupsOf } from '../domain/team-membership.js';
import { byVersion, isSettled } from '../domain/version.js';
import { TransientError } from '../shared/errors.js';
import type { OutcomeCounts } from './messages.js';

export interface ChunkOutcome {
  readonly counts: OutcomeCounts;
  readonly errors: RunError[];
  /** Passes over the tenant's mirror (a group deletion's team refresh reads every bucket once). */
  readonly mirrorPasses?: number;
}

export function emptyOutcome(): { counts: Record<string, number>; errors: RunError[]; mirrorPasses: number } {
  return { counts: {}, errors: [], mirrorPasses: 0 };
}

/**
 * Called once a chunk's outcome is decided, before anything is written: the caller records it (the
 * chunk's report, its errors) and answers the outcome to report, which is the one decided the first
 * time the chunk was applied when this is a redelivery (so counts never depend on a retry).
 */
export type DecidedHook = (outcome: ChunkOutcome) => Promise<void>;

export interface BucketWork {
  readonly tenantId: string;
  readonly bucket: number;
  readonly changes: readonly DirectoryChange[];
  readonly now: string;
  readonly source: string;
  /** The tenant had never been synced: nothing to read, rows to create. */
  readonly fresh: boolean;
  /** Changes of rounds up to this one are duplicates; removals of those rounds are forgotten. */
  readonly settledRound: number;
}

/** Most optimistic-concurrency retries before the message goes back to the queue. */
const MAX_ATTEMPTS = 6;

/**
 * Applies one bucket's user and membership changes: the mirror (a row per user: facts, manager,
 * memberships, each with the version that set it) and the projection (a row per person: fields,
 * status, teams), each as batch transactions of that one partition written with ETag conditions,
 * under the bucket's lock so chunks of one bucket apply one at a time. Idempotent: a change no newer
 * than what the mirror holds is ignored, and the mirror is written last, so a crash re-applies the rest.
 *
 * `fresh`: the tenant has never been synced, so nothing is read; rows are created, and if one
 * already exists (a redelivered message) the chunk is applied again the ordinary way.
 */
export async function applyUserBucket(
  tables: TableGateway,
  work: BucketWork,
  decided: DecidedHook = () => Promise.resolve(),
): Promise<ChunkOutcome> {
  return withPartitionLock(tables, work.tenantId, `users:${work.bucket}`, async (lease) => {
    let assumeEmpty = work.fresh;
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await applyOnce(tables, work, assumeEmpty, lease, decided);
      } catch (error) {
        if (!isWriteConflict(error)) throw error;
        if (attempt >= MAX_ATTEMPTS)
          throw new TransientError(`bucket ${work.bucket}: writes kept conflicting`);
        assumeEmpty = false;
      }
    }
  });
}

/** The tenant's deleted groups, whose memberships never make team members. */
export async function deletedGroupsOf(tables: TableGateway, tenantId: string): Promise<Set<string>> {
  const rows = await tables.query(TABLES.dirGroups, odata`PartitionKey eq ${tenantId} and deleted ne ''`, [
    'RowKey',
  ]);
  return new Set(rows.map((row) => row.rowKey));
}

async function applyOnce(
  tables: TableGateway,
  work: BucketWork,
  assumeEmpty: boolean,
  lease: PartitionLease,
  decided: DecidedHook,
): Promise<ChunkOutcome> {
  const { tenantId, bucket, now, source, settledRound } = work;
  const pk = bucketPartition(tenantId, bucket);
  const outcome = emptyOutcome();
  const count = (name: Outcome): void => {
    outcome.counts[name] = (outcome.counts[name] ?? 0) + 1;
  };
  const live = work.changes.filter((c) => !isSettled(c.version, settledRound));
  const userChanges = live.filter((c): c is UserChange => c.kind === 'user').sort(byVersion);
  const edgeChanges = live
    .filter((c): c is EdgeChange => c.kind === 'edge' && c.memberType === 'user')
    .sort(byVersion);
  const ids = new Set([...userChanges.map((c) => c.id), ...edgeChanges.map((c) => c.memberId)]);
  const personIds = new Map([...ids].map((id) => [id, personIdFor(tenantId, id)]));

  // 1. Read the bucket's rows for these users (nothing when the tenant has never been synced).
  const mirrorRows = assumeEmpty ? new Map<string, Row>() : await tables.readRows(TABLES.dirUsers, pk, ids);
  const personRows = assumeEmpty
    ? new Map<string, Row>()
    : await tables.readRows(TABLES.people, pk, personIds.values());
  const deletedGroups =
    assumeEmpty || ids.size === 0 ? new Set<string>() : await deletedGroupsOf(tables, tenantId);
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

  // 2. Apply the changes to the mirror in version order, fact by fact, keeping what is newer.
  const mirror = new Map(stored);
  const profileChanged = new Set<string>();
  const replayed = new Set<string>();
  for (const change of userChanges) {
    const before = mirror.get(change.id);
    const after = applyUserChange(before, change);
    if (after === before) {
      replayed.add(change.id);
      continue;
    }
    mirror.set(change.id, after);
    profileChanged.add(change.id);
  }
  for (const change of edgeChanges) {
    const before = mirror.get(change.memberId) ?? unknownUser(change.memberId);
    mirror.set(change.memberId, applyMembershipChange(before, change));
  }

  // 3. Project: plan each person whose user changed; recompute every touched person's teams.
  const personActions: TransactionAction[] = [];
  const refused = new Set<string>();
  for (const id of ids) {
    const user = mirror.get(id)!;
    const existing = storedPeople.get(id);
    let person: Person | undefined = existing?.person;
    let write = false;
    let decision: Outcome | undefined;
    if (profileChanged.has(id)) {
      const plan = planPerson(tenantId, user, person, now);
      decision = plan.outcome;
      if (plan.outcome === 'failed') {
        outcome.errors.push({ category: 'invalid-data', objectId: id, message: plan.reason, source });
      } else if (plan.outcome !== 'unchanged' && plan.outcome !== 'skipped') {
        person = plan.person;
        write = true;
      }
    }
    if (person) {
      const teams = teamGroupsOf(user.memberships, !isOutOfDirectory(person.status), (groupId) =>
        deletedGroups.has(groupId),
      ).map((groupId) => teamIdFor(tenantId, groupId));
      const teamsChanged = !sameTeams(teams, existing?.teams ?? []);
      if (write || teamsChanged) {
        const row = personToRow(pk, write ? person : { ...person, updatedAt: now }, teams);
        if (!fits(TABLES.people, row, id, outcome, source)) {
          refused.add(id);
          decision = 'failed';
        } else {
          personActions.push(
            existing?.etag ? ['update', row, 'Replace', { etag: existing.etag }] : ['create', row],
          );
          // A person whose only change is its teams was updated too.
          if (decision === undefined || decision === 'unchanged') decision = 'updated';
        }
      }
    }
    if (decision === undefined && replayed.has(id)) decision = 'unchanged';
    if (decision !== undefined) count(decision);
  }

  // 4. Decided: the caller records the outcome before anything is written.
  await decided(outcome);

  // 5. Write: the projection first, the mirror last (its versions mark the changes as applied).
  const mirrorActions: TransactionAction[] = [];
  for (const [id, user] of mirror) {
    if (user === stored.get(id) || refused.has(id)) continue;
    const row = mirrorUserToRow(pk, {
      ...user,
      memberships: withoutSettledRemovals(user.memberships, settledRound),
    });
    if (!fits(TABLES.dirUsers, row, id, outcome, source)) continue;
    const etag = mirrorRows.get(id)?.etag;
    mirrorActions.push(etag ? ['update', row, 'Replace', { etag }] : ['create', row]);
  }
  lease.assertHeld();
  await tables.transact(TABLES.people, personActions);
  lease.assertHeld();
  await tables.transact(TABLES.dirUsers, mirrorActions);
  return outcome;
}

/** A row Table Storage would refuse is this person's failure, recorded; the rest of the chunk goes on. */
function fits(
  table: string,
  row: Row,
  objectId: string,
  outcome: { errors: RunError[] },
  source: string,
): boolean {
  try {
    checkEntity(table, row);
    return true;
  } catch (error) {
    if (!(error instanceof TableLimitError)) throw error;
    outcome.errors.push({ category: 'storage-limit', objectId, message: error.message, source });
    return false;
  }
}

function sameTeams(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((team, i) => team === b[i]);
}
