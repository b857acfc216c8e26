import { TABLES } from './storage-names.js';
import type { TableGateway } from './table-gateway.js';

/** Reads of the groups mirror (`dirGroups`, PartitionKey the tenant, RowKey the group id). */
export class MirrorGroupReader {
  constructor(private readonly tables: TableGateway) {}

  /** Which of these group ids the mirror holds alive (not deleted). */
  async alive(tenantId: string, groupIds: Iterable<string>): Promise<Set<string>> {
    const rows = await this.tables.readRows(TABLES.dirGroups, tenantId, groupIds);
    return new Set([...rows.values()].filter((row) => (row.deleted ?? '') === '').map((row) => row.rowKey));
  }
}
