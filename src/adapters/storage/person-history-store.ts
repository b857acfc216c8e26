import { createHash } from 'node:crypto';

import { odata, type TransactionAction } from '@azure/data-tables';
import { z } from 'zod';

import { HISTORY_ON_ROW, type HistoryEntry } from '../../domain/person.js';
import { gatherText, spreadText } from './directory-rows.js';
import { TABLES } from './storage-names.js';
import type { Row, TableGateway } from './table-gateway.js';

/**
 * The `personHistory` table: a person's history entries older than the HISTORY_ON_ROW latest kept on
 * its people row. PartitionKey `tenantId|personId` (one person's history is one partition), RowKey
 * the inverted time of the entry (newest first in key order) and a digest of the entry (so moving the
 * same entry twice writes one row); columns `at`, `runId`, `kind`, `rule`, `changes` (JSON, spread).
 */
export function personHistoryPartition(tenantId: string, personId: string): string {
  return `${tenantId}|${personId}`;
}

/** Inverted milliseconds (13 digits) then 12 hex digits of the entry's digest. */
export function personHistoryRowKey(entry: HistoryEntry): string {
  const inverted = (9_999_999_999_999 - Date.parse(entry.at)).toString().padStart(13, '0');
  const digest = createHash('sha256').update(JSON.stringify(entry)).digest('hex').slice(0, 12);
  return `${inverted}-${digest}`;
}

export function personHistoryToRow(tenantId: string, personId: string, entry: HistoryEntry): Row {
  return {
    partitionKey: personHistoryPartition(tenantId, personId),
    rowKey: personHistoryRowKey(entry),
    at: entry.at,
    runId: entry.runId,
    kind: entry.kind,
    rule: entry.rule,
    ...spreadText('changes', entry.changes ? JSON.stringify(entry.changes) : ''),
  };
}

const fieldValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.string()), z.null()]);
const changesSchema = z.array(z.object({ key: z.string(), from: fieldValue, to: fieldValue }));
const text = (value: unknown): string => (typeof value === 'string' ? value : '');

export function personHistoryFromRow(row: Row): HistoryEntry {
  const changes = gatherText(row, 'changes');
  return {
    at: text(row.at),
    runId: text(row.runId),
    kind: text(row.kind),
    rule: text(row.rule),
    ...(changes !== '' ? { changes: changesSchema.parse(JSON.parse(changes)) } : {}),
  };
}

/**
 * Splits a person's history (newest last) into what stays on its row (the HISTORY_ON_ROW latest) and
 * what moves to personHistory.
 */
export function splitHistory(history: readonly HistoryEntry[]): {
  onRow: HistoryEntry[];
  moved: HistoryEntry[];
} {
  const cut = Math.max(0, history.length - HISTORY_ON_ROW);
  return { onRow: history.slice(cut), moved: history.slice(0, cut) };
}

export class PersonHistoryStore {
  constructor(private readonly tables: TableGateway) {}

  /** Writes entries moved off a person's row (idempotent: upserts keyed by time and digest). */
  async append(tenantId: string, personId: string, entries: readonly HistoryEntry[]): Promise<void> {
    const actions: TransactionAction[] = entries.map((entry) => [
      'upsert',
      personHistoryToRow(tenantId, personId, entry),
      'Replace',
    ]);
    await this.tables.transact(TABLES.personHistory, actions);
  }

  /** The entries after RowKey `after` (newest first), at most `top`. */
  async page(
    tenantId: string,
    personId: string,
    top: number,
    after?: string,
  ): Promise<{ entries: { rowKey: string; entry: HistoryEntry }[] }> {
    let filter = odata`PartitionKey eq ${personHistoryPartition(tenantId, personId)}`;
    if (after !== undefined) filter += ` and ${odata`RowKey gt ${after}`}`;
    const rows = await this.tables.query(TABLES.personHistory, filter, undefined, top);
    return { entries: rows.map((row) => ({ rowKey: row.rowKey, entry: personHistoryFromRow(row) })) };
  }
}
