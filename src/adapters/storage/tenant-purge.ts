import type { TransactionAction } from '@azure/data-tables';
import type { BlobServiceClient } from '@azure/storage-blob';

import { CONTAINERS, type TableName, TABLES } from './storage-names.js';
import type { Row, TableGateway } from './table-gateway.js';

/**
 * Tables whose rows are not keyed by tenant: the connection row itself (deleted by the caller, last),
 * subscriptions (deleted at Graph by maintain-subscriptions), used consent nonces (no tenant).
 */
const NOT_TENANT_KEYED: ReadonlySet<TableName> = new Set([
  TABLES.connections,
  TABLES.subscriptions,
  TABLES.consentStates,
]);

/** Blob name prefixes that hold a tenant's blobs in any container (run-blobs.ts, photos, change sets). */
function blobPrefixes(tenantId: string): string[] {
  return [`${tenantId}/`, ...['staged', 'held', 'chunks', 'seen'].map((area) => `${area}/${tenantId}/`)];
}

export interface PurgeReport {
  /** Rows deleted, per table (tables with none left out). */
  readonly rows: Record<string, number>;
  readonly blobs: number;
}

/**
 * Deletes everything a tenant left in storage: every table's rows whose PartitionKey is the tenant id
 * or starts with it (`tenantId|bucket`, `tenantId|runId`, `tenantId|personId`: the range
 * `[tenantId, tenantId + '}')`, as '|' sorts before '}'), deleted partition by partition in batch
 * transactions through the table gateway; and its blobs, by prefix, in every container.
 */
export class TenantPurge {
  constructor(
    private readonly tables: TableGateway,
    private readonly blobs: BlobServiceClient,
  ) {}

  async purge(tenantId: string): Promise<PurgeReport> {
    const rows: Record<string, number> = {};
    for (const table of Object.values(TABLES)) {
      if (NOT_TENANT_KEYED.has(table)) continue;
      const deleted = await this.#purgeTable(table, tenantId);
      if (deleted > 0) rows[table] = deleted;
    }
    let blobs = 0;
    for (const container of Object.values(CONTAINERS)) {
      const client = this.blobs.getContainerClient(container);
      for (const prefix of blobPrefixes(tenantId)) {
        for await (const blob of client.listBlobsFlat({ prefix })) {
          await client.deleteBlob(blob.name, { deleteSnapshots: 'include' }).catch((error: unknown) => {
            if ((error as { statusCode?: number }).statusCode !== 404) throw error;
          });
          blobs += 1;
        }
      }
    }
    return { rows, blobs };
  }

  async removeConnection(tenantId: string): Promise<void> {
    try {
      await this.tables.transact(TABLES.connections, [
        ['delete', { partitionKey: 'connection', rowKey: tenantId }],
      ]);
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    }
  }

  async #purgeTable(table: TableName, tenantId: string): Promise<number> {
    let rows: Row[];
    try {
      rows = await this.tables.listPartitionRange(table, tenantId, `${tenantId}}`, [
        'PartitionKey',
        'RowKey',
      ]);
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return 0; // table not provisioned
      throw error;
    }
    const byPartition = new Map<string, TransactionAction[]>();
    for (const row of rows) {
      const actions = byPartition.get(row.partitionKey) ?? [];
      actions.push(['delete', { partitionKey: row.partitionKey, rowKey: row.rowKey }]);
      byPartition.set(row.partitionKey, actions);
    }
    for (const actions of byPartition.values()) await this.tables.transact(table, actions);
    return rows.length;
  }
}
