import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';

import { forEachConcurrently } from '../../shared/concurrency.js';
import type { StorageAccount } from './storage-account.js';
import { DIRECTORY_TABLES, type TableName } from './storage-names.js';
import { checkEntity, planBatches, TABLE_LIMITS } from './table-limits.js';

export type Row = Record<string, unknown> & { partitionKey: string; rowKey: string; etag?: string };

/** Counts what a use case wrote, so every run can say what it cost. */
export class WriteMeter {
  directoryWrites = 0;
  bookkeepingWrites = 0;
  transactions = 0;

  count(table: TableName, entities: number, transactions: number): void {
    if (DIRECTORY_TABLES.has(table)) this.directoryWrites += entities;
    else this.bookkeepingWrites += entities;
    this.transactions += transactions;
  }
}

/** Table Storage's limit for one batch transaction. */
export const MAX_BATCH = TABLE_LIMITS.batchOperations;
/**
 * Up to this many keys, point reads (at most POINT_READS_IN_FLIGHT at once); above it, one scan of the
 * partition. A bucket partition holds tens to ~1,600 rows of a few KB, and a chunk names at most a
 * hundred or so of them: reading just those is less traffic in Azure (a point read is one small
 * response; a scan carries the whole partition) and far less work on Azurite, which answers any
 * query by filtering every row of the table, not just the partition's.
 */
const POINT_READ_LIMIT = 128;
const POINT_READS_IN_FLIGHT = 16;

/**
 * The one table gateway: reads shaped for Table Storage (a partition, a key range, a few point
 * reads), writes as batch transactions of one partition, conditional where the caller says so.
 * Swallows exactly the expected codes (404 on a missing row) and rethrows the rest.
 */
export class TableGateway {
  readonly #clients = new Map<string, TableClient>();

  constructor(
    private readonly account: StorageAccount,
    readonly meter: WriteMeter = new WriteMeter(),
  ) {}

  /**
   * The same object for this gateway and every gateway made from it (withMeter): what a process keeps
   * about its storage across invocations is keyed by it.
   */
  get scope(): object {
    return this.account;
  }

  /** A gateway on the same account that counts into its own meter. */
  withMeter(meter: WriteMeter): TableGateway {
    const gateway = new TableGateway(this.account, meter);
    for (const [name, client] of this.#clients) gateway.#clients.set(name, client);
    return gateway;
  }

  client(table: TableName): TableClient {
    let client = this.#clients.get(table);
    if (!client) {
      client = this.account.tableClient(table);
      this.#clients.set(table, client);
    }
    return client;
  }

  async get(table: TableName, partitionKey: string, rowKey: string): Promise<Row | undefined> {
    try {
      return (await this.client(table).getEntity<Record<string, unknown>>(partitionKey, rowKey)) as Row;
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /** Every row of one partition (optionally a RowKey range within it). */
  async listPartition(
    table: TableName,
    partitionKey: string,
    options: { select?: string[]; rowKeyFrom?: string; rowKeyTo?: string } = {},
  ): Promise<Row[]> {
    let filter = odata`PartitionKey eq ${partitionKey}`;
    if (options.rowKeyFrom !== undefined) filter += ` and ${odata`RowKey ge ${options.rowKeyFrom}`}`;
    if (options.rowKeyTo !== undefined) filter += ` and ${odata`RowKey lt ${options.rowKeyTo}`}`;
    return this.query(table, filter, options.select);
  }

  /** Every row whose PartitionKey is in `[from, to)`: a whole tenant across its buckets. */
  async listPartitionRange(table: TableName, from: string, to: string, select?: string[]): Promise<Row[]> {
    return this.query(table, odata`PartitionKey ge ${from} and PartitionKey lt ${to}`, select);
  }

  /** Rows matching `filter`, in key order; with `top`, only the first `top` (one request). */
  async query(table: TableName, filter: string, select?: string[], top?: number): Promise<Row[]> {
    const rows: Row[] = [];
    const queryOptions = select ? { filter, select } : { filter };
    for await (const page of this.client(table)
      .listEntities<Record<string, unknown>>({ queryOptions })
      .byPage({ maxPageSize: top ?? 1000 })) {
      for (const row of page) rows.push(row as Row);
      if (top !== undefined && rows.length >= top) return rows.slice(0, top);
    }
    return rows;
  }

  /** Rows matching `filter`, in key order, read a page at a time as the caller consumes them (it may stop early). */
  async *scan(table: TableName, filter: string, pageSize = 1000): AsyncGenerator<Row> {
    for await (const page of this.client(table)
      .listEntities<Record<string, unknown>>({ queryOptions: { filter } })
      .byPage({ maxPageSize: pageSize })) {
      for (const row of page) yield row as Row;
    }
  }

  /** The rows with these keys in one partition: point reads for a few, one scan for many. */
  async readRows(
    table: TableName,
    partitionKey: string,
    rowKeys: Iterable<string>,
  ): Promise<Map<string, Row>> {
    const wanted = new Set(rowKeys);
    const found = new Map<string, Row>();
    if (wanted.size === 0) return found;
    if (wanted.size <= POINT_READ_LIMIT) {
      await forEachConcurrently([...wanted], POINT_READS_IN_FLIGHT, async (key) => {
        const row = await this.get(table, partitionKey, key);
        if (row) found.set(row.rowKey, row);
      });
      return found;
    }
    for (const row of await this.listPartition(table, partitionKey)) {
      if (wanted.has(row.rowKey)) found.set(row.rowKey, row);
    }
    return found;
  }

  /**
   * Submits actions on one partition as batch transactions Table Storage accepts (at most 100
   * operations and 4 MiB, each entity once); every entity is checked against Azure's limits first, so
   * nothing is written when one would be refused (TableLimitError). Each batch is atomic; a failed
   * condition (409, 412) rejects that batch and is rethrown for the caller to re-decide.
   */
  async transact(
    table: TableName,
    actions: readonly TransactionAction[],
    /** Batches in flight at once (they touch distinct entities; each stays atomic). Default 1, in order. */
    options: { concurrency?: number } = {},
  ): Promise<void> {
    if (actions.length === 0) return;
    const client = this.client(table);
    await forEachConcurrently(planBatches(table, actions), options.concurrency ?? 1, async (batch) => {
      if (batch.length === 1) {
        await this.#single(client, batch[0]!);
      } else {
        await client.submitTransaction([...batch]);
      }
      this.meter.count(table, batch.length, 1);
    });
  }

  async upsert(table: TableName, entity: Row, mode: 'Replace' | 'Merge' = 'Replace'): Promise<void> {
    checkEntity(table, entity);
    await this.client(table).upsertEntity(entity, mode);
    this.meter.count(table, 1, 1);
  }

  /** Replaces a row only if it still has `etag` (412 otherwise). */
  async replaceIfMatch(table: TableName, entity: Row, etag: string): Promise<void> {
    checkEntity(table, entity);
    await this.client(table).updateEntity(entity, 'Replace', { etag });
    this.meter.count(table, 1, 1);
  }

  /** Creates a row; false when it already exists (409). */
  async createIfAbsent(table: TableName, entity: Row): Promise<boolean> {
    checkEntity(table, entity);
    try {
      await this.client(table).createEntity(entity);
      this.meter.count(table, 1, 1);
      return true;
    } catch (error) {
      if (statusOf(error) === 409) return false;
      throw error;
    }
  }

  async #single(client: TableClient, action: TransactionAction): Promise<void> {
    const [kind, entity] = action;
    switch (kind) {
      case 'create':
        await client.createEntity(entity);
        return;
      case 'delete':
        await client.deleteEntity(entity.partitionKey, entity.rowKey);
        return;
      case 'update':
        await client.updateEntity(entity, action[2] ?? 'Merge', action[3]);
        return;
      case 'upsert':
        await client.upsertEntity(entity, action[2] ?? 'Merge');
        return;
    }
  }
}

/** The HTTP status of a storage SDK error, if it has one. */
export function statusOf(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'statusCode' in error) {
    const status = error.statusCode;
    return typeof status === 'number' ? status : undefined;
  }
  return undefined;
}

/** Conflicts that mean "someone else wrote first: re-read and re-decide". */
export function isWriteConflict(error: unknown): boolean {
  const status = statusOf(error);
  return status === 409 || status === 412;
}
