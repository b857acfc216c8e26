import { odata, type TransactionAction } from '@azure/data-tables';
import { z } from 'zod';

import { bucketOf, bucketPartition } from '../../domain/bucket.js';
import { EVENT_TYPES, type FeedEvent } from '../../domain/person-events.js';
import { forEachConcurrently } from '../../shared/concurrency.js';
import { gatherText, spreadColumns, spreadText } from './directory-rows.js';
import { packOutbox, unpackOutbox } from './outbox-text.js';
import { TABLES } from './storage-names.js';
import { isWriteConflict, type Row, type TableGateway } from './table-gateway.js';

/**
 * The app's event feed and its delivery bookkeeping, in Table Storage:
 *
 * - `events`: PartitionKey `tenantId|bucket` (the bucket of the subject's id, as the people table:
 *   a chunk's events are one partition's batch, and no partition holds a whole tenant), RowKey the
 *   event's feed key (`<ISO time>_<subject id>_<seq>`, src/domain/person-events.ts feedKey). A read
 *   merges the tenant's partitions by RowKey, so the feed is in time order and the cursor is the
 *   RowKey; a subject's events share a partition, in sequence order. Rows are written with upsert:
 *   writing an event again writes the same row.
 * - the outbox on a subject's own row (people, teams): `eventSeq` (the subject's last sequence),
 *   `eventAt` (its last change's time), `outboxRun` and `outbox` (the events of its last change, packed by
 *   outbox-text.ts and spread over pieces like `teams`), written in the same ETag'd write as the change itself.
 * - `eventDeliveries`: PartitionKey the tenant; RowKey `state` (the webhook's cursor, failures,
 *   next attempt) and `dead_<feed key>` (an event the webhook refused too often: the dead letters).
 */
const dataSchema = z.record(z.string(), z.unknown());

export const feedEventSchema = z.object({
  key: z.string(),
  id: z.string(),
  type: z.enum(EVENT_TYPES),
  subject: z.enum(['person', 'team']),
  subjectId: z.string(),
  seq: z.number().int().min(1),
  at: z.string(),
  runId: z.string(),
  data: dataSchema,
});

const OUTBOX = 'outbox';
/** Feed partitions written at once by one append. */
const APPEND_PARTITIONS_IN_FLIGHT = 4;
/** The outbox columns a subject's row carries (for writers that copy a row's other columns). */
export const OUTBOX_COLUMNS = ['eventSeq', 'eventAt', 'outboxRun', ...spreadColumns(OUTBOX)];

/** The event columns of a subject's row: its last sequence and time, and its last change's events. */
export function outboxColumns(
  events: readonly FeedEvent[],
  last: { seq: number; at: string },
  runId: string,
  /** For a Merge: every piece column, the unused ones empty (a Replace drops them anyway). */
  options: { clearPieces?: boolean } = {},
): Record<string, string | number> {
  const columns: Record<string, string | number> = {
    eventSeq: last.seq,
    eventAt: last.at,
    outboxRun: runId,
  };
  if (options.clearPieces) for (const piece of spreadColumns(OUTBOX)) columns[piece] = '';
  return { ...columns, ...spreadText(OUTBOX, packOutbox(events)) };
}

/** A subject row's event bookkeeping (nothing yet: sequence 0). */
export function outboxOf(row: Row | undefined): {
  seq: number;
  at: string | undefined;
  runId: string | undefined;
  events: FeedEvent[];
} {
  if (!row) return { seq: 0, at: undefined, runId: undefined, events: [] };
  const seq = typeof row.eventSeq === 'number' ? row.eventSeq : Number(row.eventSeq ?? 0) || 0;
  const events = unpackOutbox(gatherText(row, OUTBOX));
  return {
    seq,
    at: typeof row.eventAt === 'string' ? row.eventAt : undefined,
    runId: typeof row.outboxRun === 'string' ? row.outboxRun : undefined,
    events,
  };
}

function rowOf(tenantId: string, event: FeedEvent): Row {
  return {
    partitionKey: tenantId,
    rowKey: event.key,
    id: event.id,
    type: event.type,
    subject: event.subject,
    subjectId: event.subjectId,
    seq: event.seq,
    at: event.at,
    runId: event.runId,
    ...spreadText('data', JSON.stringify(event.data)),
  };
}

function eventOf(row: Row): FeedEvent {
  return feedEventSchema.parse({
    key: row.rowKey,
    id: row.id,
    type: row.type,
    subject: row.subject,
    subjectId: row.subjectId,
    seq: typeof row.seq === 'number' ? row.seq : Number(row.seq),
    at: row.at,
    runId: row.runId,
    data: JSON.parse(gatherText(row, 'data') || '{}') as unknown,
  });
}

export interface DeliveryState {
  /** The feed key up to which every event was delivered or dead-lettered ('' = from the start). */
  readonly cursor: string;
  /** Failed attempts so far of the events that blocked the last pass, by feed key. */
  readonly failures: Readonly<Record<string, number>>;
  /** No attempt before this time (ISO; '' = now). */
  readonly nextAttemptAt: string;
  readonly delivered: number;
  readonly etag?: string;
}

export interface DeadLetter {
  readonly key: string;
  readonly id: string;
  readonly type: string;
  readonly subjectId: string;
  readonly attempts: number;
  readonly reason: string;
  readonly at: string;
}

const stateSchema = z.object({
  cursor: z.string().default(''),
  failures: z.string().default('{}'),
  nextAttemptAt: z.string().default(''),
  delivered: z.number().default(0),
  etag: z.string().optional(),
});

const deadSchema = z.object({
  rowKey: z.string(),
  id: z.string(),
  type: z.string(),
  subjectId: z.string(),
  attempts: z.number(),
  reason: z.string(),
  at: z.string(),
});

const DEAD = 'dead_';

export class EventStore {
  constructor(
    private readonly tables: TableGateway,
    /** SYNC_BUCKETS: the feed's partitions per tenant. */
    private readonly buckets: number,
  ) {}

  partitionOf(tenantId: string, subjectId: string): string {
    return bucketPartition(tenantId, bucketOf(subjectId, this.buckets));
  }

  /** Writes events (again): upserts, so a redo writes the same rows; batches of one partition. */
  async append(tenantId: string, events: readonly FeedEvent[]): Promise<void> {
    const byPartition = new Map<string, Map<string, FeedEvent>>();
    for (const event of events) {
      const pk = this.partitionOf(tenantId, event.subjectId);
      let partition = byPartition.get(pk);
      if (!partition) byPartition.set(pk, (partition = new Map<string, FeedEvent>()));
      partition.set(event.key, event);
    }
    // Partitions are independent: a chunk's events are one, a groups chunk's team events are many.
    await forEachConcurrently([...byPartition], APPEND_PARTITIONS_IN_FLIGHT, async ([pk, partition]) => {
      const actions: TransactionAction[] = [...partition.values()].map((e) => [
        'upsert',
        rowOf(pk, e),
        'Replace',
      ]);
      await this.tables.transact(TABLES.events, actions);
    });
  }

  /**
   * Events after `after` (exclusive) and before `until` (exclusive), in feed order, at most `limit`:
   * the first `limit` of each partition, merged by key.
   */
  async read(
    tenantId: string,
    options: { after?: string; until?: string; limit: number },
  ): Promise<FeedEvent[]> {
    const partitions = Array.from({ length: this.buckets }, (_, b) => bucketPartition(tenantId, b));
    const pages = await Promise.all(
      partitions.map((pk) => {
        let filter = odata`PartitionKey eq ${pk}`;
        if (options.after) filter += ` and ${odata`RowKey gt ${options.after}`}`;
        if (options.until) filter += ` and ${odata`RowKey lt ${options.until}`}`;
        return this.tables.query(TABLES.events, filter, undefined, options.limit);
      }),
    );
    return pages
      .flat()
      .sort((a, b) => (a.rowKey < b.rowKey ? -1 : a.rowKey > b.rowKey ? 1 : 0))
      .slice(0, options.limit)
      .map(eventOf);
  }

  /**
   * The keys of these events that the feed holds: per partition, one scan of the keys between the
   * earliest and the latest asked (a redo's events are close in time), not a point read each.
   */
  async present(tenantId: string, events: readonly FeedEvent[]): Promise<Set<string>> {
    const byPartition = new Map<string, string[]>();
    for (const e of events) {
      const pk = this.partitionOf(tenantId, e.subjectId);
      byPartition.set(pk, [...(byPartition.get(pk) ?? []), e.key]);
    }
    const found = new Set<string>();
    for (const [pk, keys] of byPartition) {
      const sorted = [...keys].sort();
      const wanted = new Set(keys);
      const filter = odata`PartitionKey eq ${pk} and RowKey ge ${sorted[0]!} and RowKey le ${sorted.at(-1)!}`;
      for await (const row of this.tables.scan(TABLES.events, filter)) {
        if (wanted.has(row.rowKey)) found.add(row.rowKey);
      }
    }
    return found;
  }

  /** Deletes the tenant's events older than `before` (an ISO time); answers how many. */
  async prune(tenantId: string, before: string): Promise<number> {
    let deleted = 0;
    for (let b = 0; b < this.buckets; b += 1) {
      const pk = bucketPartition(tenantId, b);
      const rows = await this.tables.query(
        TABLES.events,
        odata`PartitionKey eq ${pk} and RowKey lt ${before}`,
        ['PartitionKey', 'RowKey'],
      );
      await this.tables.transact(
        TABLES.events,
        rows.map((r) => ['delete', { partitionKey: r.partitionKey, rowKey: r.rowKey }]),
      );
      deleted += rows.length;
    }
    return deleted;
  }

  async deliveryState(tenantId: string): Promise<DeliveryState> {
    const row = await this.tables.get(TABLES.eventDeliveries, tenantId, 'state');
    if (!row) return { cursor: '', failures: {}, nextAttemptAt: '', delivered: 0 };
    const parsed = stateSchema.parse(row);
    return {
      cursor: parsed.cursor,
      failures: z.record(z.string(), z.number()).parse(JSON.parse(parsed.failures)),
      nextAttemptAt: parsed.nextAttemptAt,
      delivered: parsed.delivered,
      ...(parsed.etag ? { etag: parsed.etag } : {}),
    };
  }

  /** Saves the state if it was not changed since read (false otherwise: a replay request won). */
  async saveDeliveryState(tenantId: string, state: DeliveryState): Promise<boolean> {
    const row: Row = {
      partitionKey: tenantId,
      rowKey: 'state',
      cursor: state.cursor,
      failures: JSON.stringify(state.failures),
      nextAttemptAt: state.nextAttemptAt,
      delivered: state.delivered,
    };
    try {
      if (state.etag) await this.tables.replaceIfMatch(TABLES.eventDeliveries, row, state.etag);
      else if (!(await this.tables.createIfAbsent(TABLES.eventDeliveries, row))) return false;
      return true;
    } catch (error) {
      if (isWriteConflict(error)) return false;
      throw error;
    }
  }

  /** Moves the webhook's cursor back (or forward) to `after`: every later event is delivered again. */
  async replayFrom(tenantId: string, after: string): Promise<void> {
    await this.tables.upsert(TABLES.eventDeliveries, {
      partitionKey: tenantId,
      rowKey: 'state',
      cursor: after,
      failures: '{}',
      nextAttemptAt: '',
      delivered: 0,
    });
    // The dead letters after the cursor are tried again (and dead-lettered again if they still fail).
    const dead = await this.deadLetters(tenantId, { limit: 1000 });
    await this.tables.transact(
      TABLES.eventDeliveries,
      dead
        .filter((d) => d.key > after)
        .map((d) => ['delete', { partitionKey: tenantId, rowKey: `${DEAD}${d.key}` }]),
    );
  }

  async deadLetter(
    tenantId: string,
    event: FeedEvent,
    attempts: number,
    reason: string,
    at: string,
  ): Promise<void> {
    await this.tables.upsert(TABLES.eventDeliveries, {
      partitionKey: tenantId,
      rowKey: `${DEAD}${event.key}`,
      id: event.id,
      type: event.type,
      subjectId: event.subjectId,
      attempts,
      reason: reason.slice(0, 1_000),
      at,
    });
  }

  async deadLetters(tenantId: string, options: { after?: string; limit: number }): Promise<DeadLetter[]> {
    const from = `${DEAD}${options.after ?? ''}`;
    const filter =
      odata`PartitionKey eq ${tenantId} and RowKey lt ${'dead`'}` +
      (options.after ? ` and ${odata`RowKey gt ${from}`}` : ` and ${odata`RowKey ge ${DEAD}`}`);
    const rows = await this.tables.query(TABLES.eventDeliveries, filter, undefined, options.limit);
    return rows.map((row) => {
      const d = deadSchema.parse(row);
      return {
        key: d.rowKey.slice(DEAD.length),
        id: d.id,
        type: d.type,
        subjectId: d.subjectId,
        attempts: d.attempts,
        reason: d.reason,
        at: d.at,
      };
    });
  }
}
