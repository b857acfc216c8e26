/**
 * The storage baseline: how fast Azurite takes the very entities the pipeline wrote, when nothing but writing
 * is done. Reads the directory tables (src/adapters/storage/storage-names.ts DIRECTORY_TABLES) back once (a
 * PartitionKey range over the tenant's buckets, or the tenant's one partition), then upserts the same entities
 * (same PartitionKeys and RowKeys) as batch transactions of 100 of one partition, with as many batches in
 * flight as the host runs queue invocations at once, into either
 *
 * - `fresh`: a fresh Azurite of their own, under the same table names (`storageBaseline`): neither the
 *   pipeline's rows slow the baseline nor the other way round;
 * - `after-sync`: `<table>Baseline` tables of the pipeline's own Azurite, after the sync
 *   (`storageBaselineAfterSync`, the figure the bench reported before), dropped once measured
 *   (dropAfterSyncTables).
 *
 * The pipeline's own tables are never touched.
 */
import {
  odata,
  TableClient,
  type TableEntity,
  TableServiceClient,
  type TransactionAction,
} from '@azure/data-tables';

import { DIRECTORY_TABLES } from '../src/adapters/storage/storage-names.js';
import { MAX_BATCH } from '../src/adapters/storage/table-gateway.js';
import { tenantPartitionRange } from '../src/domain/bucket.js';

export interface BaselineFigures {
  /** `fresh`: its own Azurite; `after-sync`: beside the pipeline's rows. */
  readonly target: BaselineTarget;
  readonly entities: number;
  readonly transactions: number;
  readonly partitions: number;
  readonly concurrency: number;
  readonly seconds: number;
  readonly entitiesPerSecond: number;
  /** Reading the tables back, for comparison with the pipeline's reads. */
  readonly readSeconds: number;
  readonly entitiesByTable: Record<string, number>;
  /** True when the deadline stopped the writes early (the rate is over what was written). */
  readonly partial: boolean;
}

export type BaselineTarget = 'fresh' | 'after-sync';

interface Batch {
  readonly table: string;
  readonly entities: TableEntity[];
}

/** The tenant's directory entities, by table and partition, cut into batches of at most 100. */
export interface BaselineEntities {
  /** Per partition (of any table), its batches in order. */
  readonly partitions: ReadonlyArray<readonly Batch[]>;
  readonly entitiesByTable: Record<string, number>;
  readonly readSeconds: number;
}

const clientOf = (connectionString: string, table: string): TableClient =>
  TableClient.fromConnectionString(connectionString, table, { allowInsecureConnection: true });

export async function readBaselineEntities(options: {
  connectionString: string;
  tenantId: string;
}): Promise<BaselineEntities> {
  const readStarted = performance.now();
  const { from, to } = tenantPartitionRange(options.tenantId);
  const entitiesByTable: Record<string, number> = {};
  const partitions: Batch[][] = [];
  // The tenant's rows whichever way a table is partitioned: its buckets, or its one partition.
  const filter = odata`(PartitionKey ge ${from} and PartitionKey lt ${to}) or PartitionKey eq ${options.tenantId}`;
  for (const table of DIRECTORY_TABLES) {
    const byPartition = new Map<string, TableEntity[]>();
    for await (const page of clientOf(options.connectionString, table)
      .listEntities({ queryOptions: { filter } })
      .byPage({ maxPageSize: 1000 })) {
      for (const row of page) {
        const entity = withoutMetadata(row);
        const list = byPartition.get(entity.partitionKey);
        if (list) list.push(entity);
        else byPartition.set(entity.partitionKey, [entity]);
      }
    }
    let count = 0;
    for (const rows of byPartition.values()) {
      count += rows.length;
      const batches: Batch[] = [];
      for (let start = 0; start < rows.length; start += MAX_BATCH) {
        batches.push({ table, entities: rows.slice(start, start + MAX_BATCH) });
      }
      partitions.push(batches);
    }
    entitiesByTable[table] = count;
  }
  return { partitions, entitiesByTable, readSeconds: round2((performance.now() - readStarted) / 1000) };
}

/**
 * Upserts the entities into `connectionString`: under their own table names when `target` is `fresh` (the
 * account must hold no table yet), as `<table>Baseline` when `after-sync`.
 */
export async function writeBaseline(
  entities: BaselineEntities,
  options: {
    connectionString: string;
    target: BaselineTarget;
    concurrency: number;
    /** Stop submitting batches after this time (epoch ms). */
    deadline?: number;
  },
): Promise<BaselineFigures> {
  const nameOf = (table: string): string => (options.target === 'fresh' ? table : `${table}Baseline`);
  if (options.target === 'fresh') {
    const service = TableServiceClient.fromConnectionString(options.connectionString, {
      allowInsecureConnection: true,
    });
    const existing = await service.listTables().next();
    if (existing.done !== true)
      throw new Error(`the baseline's storage is not fresh: it already holds table ${existing.value.name}`);
  }
  for (const table of DIRECTORY_TABLES) await clientOf(options.connectionString, nameOf(table)).createTable();

  // Round-robin over partitions: the first batch of every partition, then the second, and so on, so the
  // batches in flight are spread over partitions as the pipeline's chunks are.
  const queue: Batch[] = [];
  for (let round = 0; ; round += 1) {
    const next = entities.partitions.flatMap((batches) => {
      const batch = batches[round];
      return batch ? [batch] : [];
    });
    if (next.length === 0) break;
    queue.push(...next);
  }
  const clients = new Map<string, TableClient>();
  const tableClient = (table: string): TableClient => {
    let found = clients.get(table);
    if (!found) {
      found = clientOf(options.connectionString, nameOf(table));
      clients.set(table, found);
    }
    return found;
  };

  let next = 0;
  let written = 0;
  let transactions = 0;
  const deadline = options.deadline ?? Number.POSITIVE_INFINITY;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < queue.length && Date.now() < deadline) {
      const batch = queue[next]!;
      next += 1;
      await tableClient(batch.table).submitTransaction(
        batch.entities.map((entity): TransactionAction => ['upsert', entity, 'Replace']),
      );
      written += batch.entities.length;
      transactions += 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, queue.length) }, worker));
  const seconds = (performance.now() - started) / 1000;

  return {
    target: options.target,
    entities: written,
    transactions,
    partitions: entities.partitions.length,
    concurrency: options.concurrency,
    seconds: round2(seconds),
    entitiesPerSecond: seconds > 0 ? Math.round(written / seconds) : 0,
    readSeconds: entities.readSeconds,
    entitiesByTable: entities.entitiesByTable,
    partial: transactions < queue.length,
  };
}

/**
 * Drops the `<table>Baseline` tables of an `after-sync` baseline. Left there, their rows (as many as the
 * sync wrote) doubled Azurite's heap, and the rounds the bench measures after the baselines ran against
 * twice the pipeline's data: the bench's scaffolding, which no deployed storage account holds.
 */
export async function dropAfterSyncTables(connectionString: string): Promise<void> {
  for (const table of DIRECTORY_TABLES) await clientOf(connectionString, `${table}Baseline`).deleteTable();
}

/** The entity as it would be written: keys and properties, without the service's etag and timestamp. */
function withoutMetadata(
  row: Record<string, unknown> & { partitionKey?: string; rowKey?: string },
): TableEntity {
  const entity: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    if (key === 'etag' || key === 'timestamp' || key.startsWith('odata.')) continue;
    entity[key] = value;
  }
  return entity as TableEntity;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
