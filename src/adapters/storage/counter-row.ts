import { TABLES } from './storage-names.js';
import { isWriteConflict, type TableGateway } from './table-gateway.js';

/**
 * A number kept in one `syncState` row (`column` of PartitionKey tenant, RowKey `rowKey`), moved by a
 * read-modify-write under the row's ETag, retried when someone else moved it first. `next` answers the
 * new value, or undefined to leave it as it is.
 */
export async function moveCounter(
  tables: TableGateway,
  tenantId: string,
  rowKey: string,
  column: string,
  next: (current: number) => number | undefined,
): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const row = await tables.get(TABLES.syncState, tenantId, rowKey);
    const current = typeof row?.[column] === 'number' ? row[column] : 0;
    const value = next(current);
    if (value === undefined) return;
    const entity = { partitionKey: tenantId, rowKey, [column]: value };
    try {
      if (row) await tables.replaceIfMatch(TABLES.syncState, entity, row.etag!);
      else if (!(await tables.createIfAbsent(TABLES.syncState, entity))) continue;
      return;
    } catch (error) {
      if (!isWriteConflict(error)) throw error;
    }
  }
}
