import type { TransactionAction } from '@azure/data-tables';

import {
  mirrorGroupFromRow,
  mirrorGroupToRow,
  mirrorUserFromRow,
  personFromRow,
  personToRow,
  spreadColumns,
} from '../adapters/storage/directory-rows.js';
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
import { personIdFor, teamIdFor } from '../domain/person-id.js';
import { isOutOfDirectory } from '../domain/person-status.js';
import { teamGroupsOf } from '../domain/team-membership.js';
import { byVersion, isNewer, isSettled } from '../domain/version.js';
import { type ChunkOutcome, type DecidedHook, deletedGroupsOf, emptyOutcome } from './reconcile-chunk.js';

export interface GroupWork {
  readonly tenantId: string;
  readonly changes: readonly (GroupChange | EdgeChange)[];
  readonly now: string;
  readonly source: string;
  readonly buckets: number;
  readonly settledRound: number;
}

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
  await withPartitionLock(tables, tenantId, 'groups', async (lease) => {
    const sorted = work.changes.filter((c) => !isSettled(c.version, settledRound)).sort(byVersion);
    const ids = new Set(sorted.map((c) => (c.kind === 'group' ? c.id : c.groupId)));
    const stored = await tables.readRows(TABLES.dirGroups, tenantId, ids);
    const groups = new Map<string, MirrorGroup>();
    for (const [id, row] of stored) groups.set(id, mirrorGroupFromRow(row));
    const changed = new Map<string, MirrorGroup>();
    const propertiesChanged = new Set<string>();
    for (const change of sorted) {
      const group =
        changed.get(change.kind === 'group' ? change.id : change.groupId) ??
        groups.get(change.kind === 'group' ? change.id : change.groupId) ??
        unknownGroup(change.kind === 'group' ? change.id : change.groupId);
      if (change.kind === 'edge') {
        const current = group.groupMembers[change.memberId];
        if (current && current.version >= change.version) continue;
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
    for (const id of propertiesChanged) {
      const teamId = teamIds.get(id)!;
      const desired = teamRow(tenantId, teamId, changed.get(id)!, teams.get(teamId), now);
      if (desired) teamActions.push(['upsert', desired, 'Replace']);
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
    await tables.transact(TABLES.teams, teamActions);
    lease.assertHeld();
    await tables.transact(TABLES.dirGroups, groupActions);
  });

  if (owedRefresh.size > 0) {
    await refreshTeams(tables, work, owedRefresh, refreshDecided);
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
  existing: Row | undefined,
  now: string,
): Row | undefined {
  const name = group.facts?.displayName ?? group.facts?.mailNickname ?? group.id;
  const description = group.facts?.description ?? '';
  const status = group.deleted ? 'archived' : 'active';
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
    name,
    description,
    status,
    sourceGroupId: group.id,
    createdAt: typeof existing?.createdAt === 'string' ? existing.createdAt : now,
    updatedAt: now,
  };
}

/**
 * Recomputes the teams of every person who is a member of one of `groupIds`: one pass over the
 * tenant's mirror, each bucket read and written under its lock (so a membership applied concurrently
 * is either seen here or applied after the group's new state is readable).
 */
async function refreshTeams(
  tables: TableGateway,
  work: GroupWork,
  groupIds: ReadonlySet<string>,
  refreshDecided: RefreshDecidedHook,
): Promise<void> {
  const { tenantId, now } = work;
  const columns = ['RowKey', ...spreadColumns('memberships')];
  const refreshed = [...groupIds];
  // The groups' new state was written before this pass began: one read serves every bucket.
  const deletedGroups = await deletedGroupsOf(tables, tenantId);
  for (let bucket = 0; bucket < work.buckets; bucket += 1) {
    await withPartitionLock(tables, tenantId, `users:${bucket}`, async (lease) => {
      const pk = bucketPartition(tenantId, bucket);
      const members = (await tables.listPartition(TABLES.dirUsers, pk, { select: columns }))
        .map((row) => mirrorUserFromRow({ ...row, partitionKey: pk }))
        .filter((user) => refreshed.some((groupId) => user.memberships[groupId]?.present));
      if (members.length === 0) return;
      const personRows = await tables.readRows(
        TABLES.people,
        pk,
        members.map((user) => personIdFor(tenantId, user.id)),
      );
      const outcome = emptyOutcome();
      const actions: TransactionAction[] = [];
      for (const user of members) {
        const row = personRows.get(personIdFor(tenantId, user.id));
        if (!row) continue;
        const stored = personFromRow(row);
        const teams = teamGroupsOf(user.memberships, !isOutOfDirectory(stored.person.status), (groupId) =>
          deletedGroups.has(groupId),
        ).map((groupId) => teamIdFor(tenantId, groupId));
        if (teams.length === stored.teams.length && teams.every((t, i) => t === stored.teams[i])) continue;
        actions.push([
          'update',
          personToRow(pk, { ...stored.person, updatedAt: now }, teams),
          'Replace',
          { etag: stored.etag! },
        ]);
        outcome.counts.updated = (outcome.counts.updated ?? 0) + 1;
      }
      await refreshDecided(bucket, outcome);
      lease.assertHeld();
      await tables.transact(TABLES.people, actions);
    });
  }
}
