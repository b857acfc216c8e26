import type { TransactionAction } from '@azure/data-tables';

import {
  mirrorGroupFromRow,
  mirrorGroupToRow,
  mirrorUserFromRow,
  spreadColumns,
} from '../adapters/storage/directory-rows.js';
import type { ManagerIndex } from '../adapters/storage/manager-index.js';
import { withPartitionLock } from '../adapters/storage/partition-lock.js';
import { TABLES } from '../adapters/storage/storage-names.js';
import type { Row, TableGateway } from '../adapters/storage/table-gateway.js';
import { bucketPartition } from '../domain/bucket.js';
import {
  type EdgeChange,
  type GroupChange,
  type MirrorGroup,
  withoutSettledRemovals,
} from '../domain/directory.js';
import { descendantsOf } from '../domain/group-closure.js';
import type { FeedEvent } from '../domain/person-events.js';
import { teamIdFor } from '../domain/person-id.js';
import type { Policy } from '../domain/policy.js';
import { isSyncedGroup } from '../domain/team-membership.js';
import { byVersion, isNewer, isSettled } from '../domain/version.js';
import {
  type CarriedOutbox,
  flushCarried,
  flushEvents,
  recoverOutboxes,
  replayedRow,
  teamChange,
} from './event-outbox.js';
import { GROUPS_LOCK } from './feed-writers.js';
import {
  applyUserBucket,
  type ChunkOutcome,
  type DecidedHook,
  emptyOutcome,
  type PlanSources,
} from './reconcile-chunk.js';

export interface GroupWork {
  readonly tenantId: string;
  readonly changes: readonly (GroupChange | EdgeChange)[];
  readonly now: string;
  readonly source: string;
  readonly buckets: number;
  readonly settledRound: number;
  readonly runId: string;
  /** The connection's policy, and the groups (read again after this chunk's writes). */
  readonly policy: Policy;
  readonly sources: () => Promise<PlanSources>;
  readonly managerIndex: ManagerIndex;
  /** Says the group graph changed, before anything is re-planned (group-graph-store.ts). */
  readonly graphChanged: () => Promise<void>;
  /** Re-plan every team row (a settings change); the buckets' own chunks re-plan the people. */
  readonly replanAll?: boolean;
}

/** Batch transactions of one table in flight at once. */
const BATCHES_IN_FLIGHT = 4;

/** Records the outcome of one bucket's team refresh, once (the first decision wins on redelivery). */
export type RefreshDecidedHook = (bucket: number, outcome: ChunkOutcome) => Promise<void>;

/**
 * Applies group changes and group-in-group memberships: the groups mirror and the app teams (one
 * team per Entra group under the default policy). A group deleted (or restored) changes its members'
 * teams: the chunk that applied the deletion then recomputes the teams of every member, bucket by
 * bucket under each bucket's lock, in one pass over the mirror for all of the chunk's deletions. That
 * step is redone whenever the chunk is redelivered (the group row keeps the version of the deletion,
 * and a chunk carrying that very change owes the refresh), so a crash at any point loses nothing.
 */
export async function applyGroupChanges(
  tables: TableGateway,
  work: GroupWork,
  decided: DecidedHook = () => Promise.resolve(),
  refreshDecided: RefreshDecidedHook = () => Promise.resolve(),
): Promise<ChunkOutcome> {
  const { tenantId, now, settledRound } = work;
  const outcome = emptyOutcome();
  const owedRefresh = new Set<string>();
  const nestingChanged = new Set<string>();
  await withPartitionLock(tables, tenantId, GROUPS_LOCK, async (lease) => {
    const sorted = work.changes.filter((c) => !isSettled(c.version, settledRound)).sort(byVersion);
    const ids = new Set(sorted.map((c) => (c.kind === 'group' ? c.id : c.groupId)));
    const stored = await tables.readRows(TABLES.dirGroups, tenantId, ids);
    const groups = new Map<string, MirrorGroup>();
    for (const [id, row] of stored) groups.set(id, mirrorGroupFromRow(row));
    const changed = new Map<string, MirrorGroup>();
    const propertiesChanged = new Set<string>();
    if (work.replanAll) {
      for (const row of await tables.listPartition(TABLES.dirGroups, tenantId)) {
        groups.set(row.rowKey, mirrorGroupFromRow(row));
        propertiesChanged.add(row.rowKey);
      }
    }
    for (const change of sorted) {
      const group =
        changed.get(change.kind === 'group' ? change.id : change.groupId) ??
        groups.get(change.kind === 'group' ? change.id : change.groupId) ??
        unknownGroup(change.kind === 'group' ? change.id : change.groupId);
      if (change.kind === 'edge') {
        const current = group.groupMembers[change.memberId];
        if (current && current.version >= change.version) {
          // Applied, maybe by this very chunk before a crash: its re-plan is still owed.
          if (current.version === change.version) nestingChanged.add(change.groupId).add(change.memberId);
          continue;
        }
        nestingChanged.add(change.groupId).add(change.memberId);
        changed.set(change.groupId, {
          ...group,
          groupMembers: {
            ...group.groupMembers,
            [change.memberId]: { present: change.present, version: change.version },
          },
        });
        continue;
      }
      if (!isNewer(change.version, group.version || undefined)) {
        // Already applied, maybe by this very chunk before a crash: its deletion still owes a refresh.
        if (group.deletionVersion === change.version) owedRefresh.add(change.id);
        continue;
      }
      const deleted = change.removed ?? null;
      const flips = (group.deleted !== null) !== (deleted !== null);
      changed.set(change.id, {
        id: change.id,
        facts: deleted ? group.facts : (change.facts ?? group.facts),
        deleted,
        version: change.version,
        deletionVersion: flips ? change.version : group.deletionVersion,
        groupMembers: group.groupMembers,
      });
      propertiesChanged.add(change.id);
      if (flips) owedRefresh.add(change.id);
    }

    const teamIds = new Map([...propertiesChanged].map((id) => [id, teamIdFor(tenantId, id)]));
    const teams = await tables.readRows(TABLES.teams, tenantId, teamIds.values());
    const teamActions: TransactionAction[] = [];
    const teamEvents: FeedEvent[] = [];
    const carried: CarriedOutbox[] = [];
    const replayedTeams: Row[] = [];
    for (const id of propertiesChanged) {
      const teamId = teamIds.get(id)!;
      const group = changed.get(id) ?? groups.get(id)!;
      const desired = teamRow(
        tenantId,
        teamId,
        group,
        isSyncedGroup(work.policy.teams, id),
        teams.get(teamId),
        now,
      );
      if (desired) {
        // The app's team.* events ride on the team row (event-outbox.ts).
        const change = teamChange(work.runId, teams.get(teamId), desired);
        Object.assign(desired, change.columns);
        teamEvents.push(...change.events);
        carried.push(change.carried);
        teamActions.push(['upsert', desired, 'Replace']);
      } else {
        const replayed = replayedRow(teams.get(teamId));
        if (replayed) replayedTeams.push(replayed);
      }
    }
    await decided(outcome);
    const groupActions: TransactionAction[] = [...changed.values()].map((group) => {
      const row = mirrorGroupToRow(tenantId, {
        ...group,
        groupMembers: withoutSettledRemovals(group.groupMembers, settledRound),
      });
      const etag = stored.get(group.id)?.etag;
      return etag ? ['update', row, 'Replace', { etag }] : ['create', row];
    });
    lease.assertHeld();
    await flushCarried(tables, tenantId, work.buckets, carried);
    // A full round's groups chunk writes thousands of teams and groups: batches run a few at a time.
    await tables.transact(TABLES.teams, teamActions, { concurrency: BATCHES_IN_FLIGHT });
    await flushEvents(tables, tenantId, work.buckets, teamEvents);
    await recoverOutboxes(tables, TABLES.teams, work, work.buckets, replayedTeams);
    lease.assertHeld();
    await tables.transact(TABLES.dirGroups, groupActions, { concurrency: BATCHES_IN_FLIGHT });
  });

  // Nesting matters to people only when scope or teams follow it transitively.
  const { scope, teams } = work.policy;
  const nestingMatters =
    scope.groups.length > 0 ||
    teams.groupSync.members === 'transitive' ||
    teams.mappings.some((m) => m.members === 'transitive');
  const affected = new Set([...owedRefresh, ...(nestingMatters ? nestingChanged : [])]);
  // Any change of the graph moves its version (planners cache it), whether or not it matters now.
  if (owedRefresh.size > 0 || nestingChanged.size > 0) await work.graphChanged();
  if (affected.size > 0) {
    await replanMembers(tables, work, affected, refreshDecided);
    outcome.mirrorPasses += 1;
  }
  return outcome;
}

function unknownGroup(id: string): MirrorGroup {
  return { id, facts: null, deleted: null, version: '', deletionVersion: '', groupMembers: {} };
}

function teamRow(
  tenantId: string,
  teamId: string,
  group: MirrorGroup,
  synced: boolean,
  existing: Row | undefined,
  now: string,
): Row | undefined {
  const name = group.facts?.displayName ?? group.facts?.mailNickname ?? group.id;
  const description = group.facts?.description ?? '';
  // A team whose group is deleted, or no longer synced, is archived: it keeps its history, gets no members.
  const status = group.deleted || !synced ? 'archived' : 'active';
  if (!existing && !synced) return undefined;
  if (
    existing &&
    existing.name === name &&
    existing.description === description &&
    existing.status === status
  ) {
    return undefined;
  }
  return {
    partitionKey: tenantId,
    rowKey: teamId,
    origin: 'entra',
    name,
    description,
    status,
    sourceGroupId: group.id,
    createdAt: typeof existing?.createdAt === 'string' ? existing.createdAt : now,
    updatedAt: now,
  };
}

/**
 * Re-plans every user who is a member of a group at or below one of `groupIds` (any edge, deleted
 * groups included, so a path that a deletion cut is found too), or everyone (`'all'`): one pass over
 * the tenant's mirror, bucket by bucket, each re-planned under its lock by the ordinary bucket
 * projection. The graph's version was moved first, so a chunk applied concurrently either planned
 * with the new graph or is re-planned here after it.
 */
async function replanMembers(
  tables: TableGateway,
  work: GroupWork,
  groupIds: ReadonlySet<string> | 'all',
  refreshDecided: RefreshDecidedHook,
): Promise<void> {
  const { tenantId, now } = work;
  let below: Set<string> | undefined;
  if (groupIds !== 'all') {
    const children = new Map<string, string[]>();
    for (const row of await tables.listPartition(TABLES.dirGroups, tenantId, {
      select: ['RowKey', ...spreadColumns('groupMembers')],
    })) {
      const group = mirrorGroupFromRow({ ...row, partitionKey: tenantId });
      children.set(
        group.id,
        Object.entries(group.groupMembers)
          .filter(([, m]) => m.present)
          .map(([id]) => id),
      );
    }
    below = descendantsOf({ children }, groupIds);
  }
  const columns = ['RowKey', ...spreadColumns('memberships')];
  for (let bucket = 0; bucket < work.buckets; bucket += 1) {
    let replan: 'all' | string[] = 'all';
    if (below) {
      const pk = bucketPartition(tenantId, bucket);
      replan = (await tables.listPartition(TABLES.dirUsers, pk, { select: columns }))
        .map((row) => mirrorUserFromRow({ ...row, partitionKey: pk }))
        .filter((user) => Object.keys(user.memberships).some((groupId) => below.has(groupId)))
        .map((user) => user.id);
      if (replan.length === 0) continue;
    }
    let recorded = false;
    await applyUserBucket(
      tables,
      {
        tenantId,
        runId: work.runId,
        bucket,
        buckets: work.buckets,
        changes: [],
        now,
        source: work.source,
        fresh: false,
        settledRound: work.settledRound,
        replan,
        sources: work.sources,
        managerIndex: work.managerIndex,
      },
      async (outcome) => {
        if (recorded) return;
        recorded = true;
        await refreshDecided(bucket, outcome);
      },
    );
  }
}
