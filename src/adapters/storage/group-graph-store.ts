import { odata } from '@azure/data-tables';

import type { GroupGraph } from '../../domain/group-closure.js';
import { moveCounter } from './counter-row.js';
import { mirrorGroupFromRow, spreadColumns } from './directory-rows.js';
import { TABLES } from './storage-names.js';
import type { TableGateway } from './table-gateway.js';

/**
 * The tenant's groups as the planner needs them: which are deleted, and how they nest (deleted
 * groups left out). Read from the groups mirror, and kept per process: a `syncState` row
 * (`groupGraph`) counts the changes of the graph, bumped by the groups chunk after it writes and
 * before it re-plans the buckets, so a chunk that reads the counter under its bucket's lock either
 * sees the new graph or is re-planned after it.
 */
export interface TenantGroups {
  readonly version: number;
  readonly deleted: ReadonlySet<string>;
  /** Parent → nested child groups. */
  readonly children: GroupGraph;
  /** Child → the groups containing it. */
  readonly parents: GroupGraph;
  /** Every group the mirror knows, alive. */
  readonly alive: ReadonlySet<string>;
}

const cache = new Map<string, TenantGroups>();
/** A read of a tenant's graph under way, by tenant and version: callers at once share it. */
const reading = new Map<string, Promise<TenantGroups>>();

export class GroupGraphStore {
  constructor(private readonly tables: TableGateway) {}

  async version(tenantId: string): Promise<number> {
    const row = await this.tables.get(TABLES.syncState, tenantId, 'groupGraph');
    return typeof row?.version === 'number' ? row.version : 0;
  }

  /**
   * The graph at its current version (read again only when the version moved; the chunks that find
   * it moved at the same moment share one read).
   */
  async load(tenantId: string): Promise<TenantGroups> {
    const version = await this.version(tenantId);
    const cached = cache.get(tenantId);
    if (cached && cached.version === version) return cached;
    const key = `${tenantId}|${version}`;
    const under = reading.get(key);
    if (under) return under;
    const read = this.#read(tenantId, version).finally(() => reading.delete(key));
    reading.set(key, read);
    return read;
  }

  async #read(tenantId: string, version: number): Promise<TenantGroups> {
    const rows = await this.tables.query(TABLES.dirGroups, odata`PartitionKey eq ${tenantId}`, [
      'PartitionKey',
      'RowKey',
      'deleted',
      ...spreadColumns('groupMembers'),
    ]);
    const groups = rows.map((row) => mirrorGroupFromRow(row));
    const deleted = new Set(groups.filter((g) => g.deleted).map((g) => g.id));
    const children = new Map<string, string[]>();
    const parents = new Map<string, string[]>();
    for (const group of groups) {
      if (group.deleted) continue;
      for (const [childId, membership] of Object.entries(group.groupMembers)) {
        if (!membership.present || deleted.has(childId)) continue;
        children.set(group.id, [...(children.get(group.id) ?? []), childId]);
        parents.set(childId, [...(parents.get(childId) ?? []), group.id]);
      }
    }
    const loaded: TenantGroups = {
      version,
      deleted,
      children: { children },
      parents: { children: parents },
      alive: new Set(groups.filter((g) => !g.deleted).map((g) => g.id)),
    };
    if ((cache.get(tenantId)?.version ?? -1) <= version) cache.set(tenantId, loaded);
    return loaded;
  }

  /** Says the graph changed (after the change is written, before anything is re-planned). */
  async bump(tenantId: string): Promise<void> {
    await moveCounter(this.tables, tenantId, 'groupGraph', 'version', (version) => version + 1);
  }
}
