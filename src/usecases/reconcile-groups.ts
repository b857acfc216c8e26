import type { TransactionAction } from '@azure/data-tables';

import {
  mirrorGroupFromRow,
  mirrorGroupToRow,
  mirrorUserFromRow,
} from '../adapters/storage/directory-rows.js';
import { withPartitionLock } from '../adapters/storage/partition-lock.js';
import { TABLES } from '../adapters/storage/storage-names.js';
import type { Row, TableGateway } from '../adapters/storage/table-gateway.js';
import { bucketOf, tenantPartitionRange } from '../domain/bucket.js';
import type { EdgeChange, GroupChange, MirrorGroup } from '../domain/directory.js';
import { teamIdFor } from '../domain/person-id.js';
import { byVersion, isNewer } from '../domain/version.js';
import { applyUserBucket, type ChunkOutcome, emptyOutcome } from './reconcile-chunk.js';

/**
 * Applies group changes and group-in-group memberships: the groups mirror and the app teams (one
 * team per Entra group under the default policy). A deleted group's team is archived and the group
 * is removed from its members' memberships in every bucket, which takes them out of the team.
 */
export async function applyGroupChanges(
  tables: TableGateway,
  tenantId: string,
  changes: readonly (GroupChange | EdgeChange)[],
  now: string,
  source: string,
  buckets: number,
): Promise<ChunkOutcome> {
  const outcome = emptyOutcome();
  const deletedGroups: GroupChange[] = [];
  await withPartitionLock(tables, tenantId, 'groups', async () => {
    const sorted = [...changes].sort(byVersion);
    const ids = new Set(sorted.map((c) => (c.kind === 'group' ? c.id : c.groupId)));
    const stored = await tables.readRows(TABLES.dirGroups, tenantId, ids);
    const groups = new Map<string, MirrorGroup>();
    for (const [id, row] of stored) groups.set(id, mirrorGroupFromRow(row));
    const changed = new Map<string, MirrorGroup>();
    const propertiesChanged = new Set<string>();
    for (const change of sorted) {
      if (change.kind === 'edge') {
        const group =
          changed.get(change.groupId) ?? groups.get(change.groupId) ?? unknownGroup(change.groupId);
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
      const before = changed.get(change.id) ?? groups.get(change.id);
      if (!isNewer(change.version, before?.version || undefined)) continue;
      const groupMembers = before?.groupMembers ?? {};
      changed.set(
        change.id,
        change.removed
          ? {
              id: change.id,
              facts: before?.facts ?? null,
              deleted: change.removed,
              version: change.version,
              groupMembers,
            }
          : {
              id: change.id,
              facts: change.facts ?? before?.facts ?? null,
              deleted: null,
              version: change.version,
              groupMembers,
            },
      );
      propertiesChanged.add(change.id);
      if (change.removed) deletedGroups.push(change);
      else deletedGroups.splice(0, deletedGroups.length, ...deletedGroups.filter((g) => g.id !== change.id));
    }

    const teamIds = new Map([...propertiesChanged].map((id) => [id, teamIdFor(tenantId, id)]));
    const teams = await tables.readRows(TABLES.teams, tenantId, teamIds.values());
    const teamActions: TransactionAction[] = [];
    for (const id of propertiesChanged) {
      const teamId = teamIds.get(id)!;
      const desired = teamRow(tenantId, teamId, changed.get(id)!, teams.get(teamId), now);
      if (desired) teamActions.push(['upsert', desired, 'Replace']);
    }
    await tables.transact(TABLES.teams, teamActions);
    await tables.transact(
      TABLES.dirGroups,
      [...changed.values()].map((group) => ['upsert', mirrorGroupToRow(tenantId, group), 'Replace'] as const),
    );
  });

  for (const deletion of deletedGroups) {
    const removed = await removeMembershipsOf(tables, tenantId, deletion, now, source, buckets);
    outcome.errors.push(...removed.errors);
  }
  return outcome;
}

function unknownGroup(id: string): MirrorGroup {
  return { id, facts: null, deleted: null, version: '', groupMembers: {} };
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

/** Takes a deleted group out of every user's memberships (a scan of the tenant's mirror: rare). */
async function removeMembershipsOf(
  tables: TableGateway,
  tenantId: string,
  deletion: GroupChange,
  now: string,
  source: string,
  buckets: number,
): Promise<ChunkOutcome> {
  const { from, to } = tenantPartitionRange(tenantId);
  const rows = await tables.listPartitionRange(TABLES.dirUsers, from, to, [
    'PartitionKey',
    'RowKey',
    'memberships',
  ]);
  const byBucket = new Map<number, EdgeChange[]>();
  for (const row of rows) {
    if (typeof row.memberships !== 'string' || !row.memberships.includes(deletion.id)) continue;
    const user = mirrorUserFromRow(row);
    if (!user.memberships[deletion.id]?.present) continue;
    const bucket = bucketOf(user.id, buckets);
    const list = byBucket.get(bucket) ?? [];
    list.push({
      kind: 'edge',
      groupId: deletion.id,
      memberId: user.id,
      memberType: 'user',
      present: false,
      version: deletion.version,
    });
    byBucket.set(bucket, list);
  }
  const outcome = emptyOutcome();
  for (const [bucket, edgeChanges] of byBucket) {
    const result = await applyUserBucket(tables, tenantId, bucket, edgeChanges, now, source);
    outcome.errors.push(...result.errors);
  }
  return outcome;
}
