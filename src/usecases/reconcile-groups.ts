import { odata, type TransactionAction } from '@azure/data-tables';

import { edgeFromRow, mirrorGroupFromRow, mirrorGroupToRow } from '../adapters/storage/directory-rows.js';
import { withPartitionLock } from '../adapters/storage/partition-lock.js';
import { TABLES } from '../adapters/storage/storage-names.js';
import type { Row, TableGateway } from '../adapters/storage/table-gateway.js';
import { tenantPartitionRange } from '../domain/bucket.js';
import type { EdgeChange, GroupChange, MirrorGroup } from '../domain/directory.js';
import { teamIdFor } from '../domain/person-id.js';
import { isNewer } from '../domain/version.js';
import { applyUserBucket, type ChunkOutcome, emptyOutcome } from './reconcile-chunk.js';

/**
 * Applies group changes: the groups mirror and the app teams (one team per Entra group under the
 * default policy). A deleted group's team is archived and its membership edges are removed in every
 * bucket, which takes its people out of the team.
 */
export async function applyGroupChanges(
  tables: TableGateway,
  tenantId: string,
  changes: readonly GroupChange[],
  now: string,
  source: string,
): Promise<ChunkOutcome> {
  const outcome = emptyOutcome();
  const deletedGroups: GroupChange[] = [];
  await withPartitionLock(tables, tenantId, 'groups', async () => {
    const sorted = [...changes].sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
    const ids = new Set(sorted.map((c) => c.id));
    const stored = await tables.readRows(TABLES.dirGroups, tenantId, ids);
    const groups = new Map<string, MirrorGroup>();
    for (const [id, row] of stored) groups.set(id, mirrorGroupFromRow(row));
    const changed = new Map<string, MirrorGroup>();
    for (const change of sorted) {
      const before = changed.get(change.id) ?? groups.get(change.id);
      if (!isNewer(change.version, before?.version)) continue;
      const after: MirrorGroup = change.removed
        ? { id: change.id, facts: before?.facts ?? null, deleted: change.removed, version: change.version }
        : {
            id: change.id,
            facts: change.facts ?? before?.facts ?? null,
            deleted: null,
            version: change.version,
          };
      changed.set(change.id, after);
    }
    for (const change of sorted)
      if (change.removed && changed.get(change.id)?.version === change.version) deletedGroups.push(change);

    const teamIds = new Map([...changed.keys()].map((id) => [id, teamIdFor(tenantId, id)]));
    const teams = await tables.readRows(TABLES.teams, tenantId, teamIds.values());
    const teamActions: TransactionAction[] = [];
    for (const [id, group] of changed) {
      const teamId = teamIds.get(id)!;
      const desired = teamRow(tenantId, teamId, group, teams.get(teamId), now);
      if (desired) teamActions.push(['upsert', desired, 'Replace']);
    }
    await tables.transact(TABLES.teams, tenantId, teamActions);
    await tables.transact(
      TABLES.dirGroups,
      tenantId,
      [...changed.values()].map((group) => ['upsert', mirrorGroupToRow(tenantId, group), 'Replace'] as const),
    );
  });

  for (const deletion of deletedGroups) {
    const removed = await removeMembershipsOf(tables, tenantId, deletion, now, source);
    for (const error of removed.errors) outcome.errors.push(error);
  }
  return outcome;
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

async function removeMembershipsOf(
  tables: TableGateway,
  tenantId: string,
  deletion: GroupChange,
  now: string,
  source: string,
): Promise<ChunkOutcome> {
  const { from, to } = tenantPartitionRange(tenantId);
  const rows = await tables.query(
    TABLES.dirMembers,
    odata`PartitionKey ge ${from} and PartitionKey lt ${to} and groupId eq ${deletion.id} and present eq true`,
  );
  const byBucket = new Map<number, EdgeChange[]>();
  for (const row of rows) {
    const edge = edgeFromRow(row);
    const bucket = Number(row.partitionKey.slice(row.partitionKey.lastIndexOf('|') + 1));
    const list = byBucket.get(bucket) ?? [];
    list.push({
      kind: 'edge',
      groupId: edge.groupId,
      memberId: edge.memberId,
      memberType: edge.memberType,
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
