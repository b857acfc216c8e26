import type { TransactionAction } from '@azure/data-tables';

import { mirrorUserFromRow, mirrorUserToRow } from '../adapters/storage/directory-rows.js';
import type { TenantGroups } from '../adapters/storage/group-graph-store.js';
import type { ManagerIndex } from '../adapters/storage/manager-index.js';
import { type PartitionLease, withPartitionLock } from '../adapters/storage/partition-lock.js';
import type { RunError } from '../adapters/storage/run-store.js';
import { TABLES } from '../adapters/storage/storage-names.js';
import { isWriteConflict, type Row, type TableGateway } from '../adapters/storage/table-gateway.js';
import { checkEntity, TableLimitError } from '../adapters/storage/table-limits.js';
import { bucketPartition, personBucketOf } from '../domain/bucket.js';
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
import type { Policy } from '../domain/policy.js';
import { byVersion, isSettled } from '../domain/version.js';
import { TransientError } from '../shared/errors.js';
import { flushCarried, flushEvents, recoverOutboxes, writtenByRun } from './event-outbox.js';
import { usersLock } from './feed-writers.js';
import type { OutcomeCounts } from './messages.js';
import {
  type ChangeEntry,
  type HeldChange,
  linkedPersonId,
  loadPlanContext,
  projectBucket,
} from './project-people.js';

export interface ChunkOutcome {
  readonly counts: OutcomeCounts;
  readonly errors: RunError[];
  /** Passes over the tenant's mirror (a group change's re-plan reads every bucket once). */
  readonly mirrorPasses?: number;
  /** What the planner decided, person by person (the chunk's part of the run's change set). */
  readonly entries?: readonly ChangeEntry[];
  /** Changes that wait for the gate (destructive ones; every one in review mode). */
  readonly held?: readonly HeldChange[];
}

export function emptyOutcome(): {
  counts: Record<string, number>;
  errors: RunError[];
  mirrorPasses: number;
  entries: ChangeEntry[];
  held: HeldChange[];
} {
  return { counts: {}, errors: [], mirrorPasses: 0, entries: [], held: [] };
}

/**
 * Called once a chunk's outcome is decided, before anything is written: the caller records it (the
 * chunk's report, its errors, its change set) and answers the outcome to report, which is the one
 * decided the first time the chunk was applied when this is a redelivery (so counts never depend on
 * a retry).
 */
export type DecidedHook = (outcome: ChunkOutcome) => Promise<void>;

/** What planning reads besides the bucket: read under the bucket's lock. */
export interface PlanSources {
  readonly policy: Policy;
  readonly groups: TenantGroups;
}

export interface BucketWork {
  readonly tenantId: string;
  readonly runId: string;
  readonly bucket: number;
  readonly buckets: number;
  readonly changes: readonly DirectoryChange[];
  readonly now: string;
  readonly source: string;
  /** The tenant had never been synced: nothing to read, rows to create. */
  readonly fresh: boolean;
  /** Changes of rounds up to this one are duplicates; removals of those rounds are forgotten. */
  readonly settledRound: number;
  /**
   * Re-plan these users from the mirror as it is ('all': every user of the bucket): a settings
   * change, a group change that moves scope or teams, the gate applying what it held.
   */
  readonly replan?: 'all' | readonly string[];
  /** Apply decisions that take a person out of the directory (the gate's pass), instead of holding them. */
  readonly allowDestructive?: boolean;
  readonly sources: () => Promise<PlanSources>;
  /** The managers rule's index of the bucket's people (manager-index.ts). */
  readonly managerIndex: ManagerIndex;
}

/** Most optimistic-concurrency retries before the message goes back to the queue. */
const MAX_ATTEMPTS = 6;

/**
 * Applies one bucket's user and membership changes to the mirror (a row per user: facts, manager,
 * memberships, each with the version that set it), then plans the people of the users that changed
 * (project-people.ts) and applies the plan, each as batch transactions of that one partition written
 * with ETag conditions, under the bucket's lock so chunks of one bucket apply one at a time.
 * Idempotent: a change no newer than what the mirror holds is ignored, and the mirror is written
 * last, so a crash re-applies the rest.
 *
 * `fresh`: the tenant has never been synced, so nothing is read; rows and managers index entries are
 * created, and if one already exists (a redelivered message) the chunk is applied again the ordinary way.
 */
export async function applyUserBucket(
  tables: TableGateway,
  work: BucketWork,
  decided: DecidedHook = () => Promise.resolve(),
): Promise<ChunkOutcome> {
  return withPartitionLock(tables, work.tenantId, usersLock(work.bucket), async (lease) => {
    // A blind create decides the chunk's counts before it meets a row another chunk wrote: only when
    // no other chunk can have written it (no two chunks of a first round describe the same user: a
    // resumed round withdraws the chunks of pages it reads again, fetch-round.ts).
    let assumeEmpty = work.fresh && describesEveryUser(work.changes);
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

/**
 * A first round's chunk may assume nothing exists only for users it describes: the memberships of users
 * it does not describe (a resumed fetch publishes those it held as chunks of their own) are of users
 * whose rows an earlier chunk wrote, and must be decided from those rows.
 */
function describesEveryUser(changes: readonly DirectoryChange[]): boolean {
  const described = new Set<string>();
  for (const change of changes) if (change.kind === 'user') described.add(change.id);
  return changes.every((c) => c.kind !== 'edge' || c.memberType !== 'user' || described.has(c.memberId));
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
  const live = work.changes.filter((c) => !isSettled(c.version, settledRound));
  const userChanges = live.filter((c): c is UserChange => c.kind === 'user').sort(byVersion);
  const edgeChanges = live
    .filter((c): c is EdgeChange => c.kind === 'edge' && c.memberType === 'user')
    .sort(byVersion);
  const ids = new Set([...userChanges.map((c) => c.id), ...edgeChanges.map((c) => c.memberId)]);

  // 1. Read the bucket's rows for these users (nothing when the tenant has never been synced; the
  //    whole bucket when everyone is re-planned).
  let mirrorRows: Map<string, Row>;
  let personRows: Map<string, Row> | undefined;
  if (work.replan === 'all') {
    mirrorRows = new Map((await tables.listPartition(TABLES.dirUsers, pk)).map((r) => [r.rowKey, r]));
    personRows = new Map((await tables.listPartition(TABLES.people, pk)).map((r) => [r.rowKey, r]));
    for (const id of mirrorRows.keys()) ids.add(id);
  } else {
    for (const id of work.replan ?? []) ids.add(id);
    mirrorRows = assumeEmpty ? new Map<string, Row>() : await tables.readRows(TABLES.dirUsers, pk, ids);
  }
  const stored = new Map<string, MirrorUser>();
  for (const id of ids) {
    const row = mirrorRows.get(id);
    if (row) stored.set(id, mirrorUserFromRow(row));
  }
  const personIds = new Map([...ids].map((id) => [id, linkedPersonId(tenantId, id, mirrorRows.get(id))]));
  personRows ??= assumeEmpty
    ? new Map<string, Row>()
    : await tables.readRows(TABLES.people, pk, personIds.values());

  // 2. Apply the changes to the mirror in version order, fact by fact, keeping what is newer.
  const mirror = new Map(stored);
  for (const change of userChanges) mirror.set(change.id, applyUserChange(mirror.get(change.id), change));
  for (const change of edgeChanges) {
    const before = mirror.get(change.memberId) ?? unknownUser(change.memberId);
    mirror.set(change.memberId, applyMembershipChange(before, change));
  }
  const replanned = new Set(work.replan === 'all' ? ids : (work.replan ?? []));
  const toPlan = [...ids].filter((id) => mirror.get(id) !== stored.get(id) || replanned.has(id));
  const planned = new Set(toPlan);
  const described = new Set(userChanges.map((c) => c.id));
  // Described but already applied: an unchanged person, counted as the planner would count it (a
  // person this run wrote was counted then; a user with no person, out of scope, counts nothing).
  const replayed = [...ids].filter((id) => {
    if (planned.has(id) || !described.has(id)) return false;
    const personId = personIds.get(id)!;
    const row = personRows.get(personId);
    if (row) return !writtenByRun(row, work.runId);
    // A person of another partition (linked by matching) is not read here: counted as unchanged.
    return personBucketOf(personId, work.buckets) !== bucket;
  });

  // 3. Plan and project the users whose mirror changed (or that are re-planned).
  const sources = await work.sources();
  const ctx = await loadPlanContext(tables, sources, tenantId, work.runId, now);
  const projection = await projectBucket(tables, {
    ctx,
    bucket,
    buckets: work.buckets,
    source,
    users: toPlan.map((id) => mirror.get(id)!).filter((user) => user !== undefined),
    personIds,
    personRows,
    assumeEmpty,
    allowDestructive: work.allowDestructive === true,
    // Review mode holds every change of a run for the admin; the gate's own pass applies what it lets through.
    holdAll: sources.policy.gate.review && work.allowDestructive !== true,
  });
  Object.assign(outcome.counts, projection.counts);
  if (replayed.length > 0) outcome.counts.unchanged = (outcome.counts.unchanged ?? 0) + replayed.length;
  outcome.errors.push(...projection.errors);
  outcome.entries.push(...projection.entries);
  outcome.held.push(...projection.held);

  // 4. Decided: the caller records the outcome before anything is written.
  await decided(outcome);

  // 5. Write: the projection first, the mirror last (its versions mark the changes as applied).
  const mirrorActions: TransactionAction[] = [];
  for (const [id, user] of mirror) {
    const row = mirrorRows.get(id);
    const link = projection.links.get(id);
    if (projection.refused.has(id)) continue;
    if (user === stored.get(id)) {
      if (link && row?.etag && row.personId !== link) {
        mirrorActions.push([
          'update',
          { partitionKey: pk, rowKey: id, personId: link },
          'Merge',
          { etag: row.etag },
        ]);
      }
      continue;
    }
    const next = {
      ...mirrorUserToRow(pk, {
        ...user,
        memberships: withoutSettledRemovals(user.memberships, settledRound),
      }),
      ...((link ?? row?.personId) ? { personId: link ?? row!.personId } : {}),
    };
    if (!fits(TABLES.dirUsers, next, id, outcome, source)) continue;
    mirrorActions.push(row?.etag ? ['update', next, 'Replace', { etag: row.etag }] : ['create', next]);
  }
  lease.assertHeld();
  // The app's events (event-outbox.ts): they ride on the people rows; the feed gets them after.
  await flushCarried(tables, tenantId, work.buckets, projection.carried);
  await tables.transact(TABLES.people, projection.actions);
  for (const write of projection.sideWrites) {
    lease.assertHeld();
    await write();
  }
  await flushEvents(tables, tenantId, work.buckets, projection.events);
  await recoverOutboxes(tables, TABLES.people, work, work.buckets, projection.replayed);
  // What the managers rule reads of these people (after their writes; a redelivery writes it again).
  lease.assertHeld();
  await work.managerIndex.update(tenantId, bucket, projection.managers, { onlyNew: assumeEmpty });
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
