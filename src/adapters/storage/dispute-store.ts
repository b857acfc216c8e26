import { z } from 'zod';

import { TABLES } from './storage-names.js';
import { isWriteConflict, type Row, type TableGateway } from './table-gateway.js';

/** How an admin resolved a dispute: link one of the candidates, or create a new person. */
export const disputeResolutionSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('link'), personId: z.string().min(1), resolvedAt: z.string() }),
  z.object({ action: z.literal('create'), resolvedAt: z.string() }),
]);
export type DisputeResolution = z.infer<typeof disputeResolutionSchema>;

/**
 * An Entra user whose email matched two or more people made by hand: sync links neither (never a
 * guess) until an admin resolves it. The planner reads resolved disputes: `link` links that person,
 * `create` makes a new one.
 */
export interface Dispute {
  /** The Entra user's object id. */
  readonly id: string;
  readonly candidates: readonly string[];
  readonly emails: readonly string[];
  readonly createdAt: string;
  readonly runId: string;
  readonly state: 'open' | 'resolved';
  readonly resolution: DisputeResolution | null;
}

export interface StoredDispute {
  readonly dispute: Dispute;
  readonly etag: string | undefined;
}

/**
 * The `disputes` table: PartitionKey the tenant, RowKey the Entra user's object id; `candidates` and
 * `emails` JSON arrays, `createdAt`, `runId`, `state` ('open' | 'resolved'), `resolution` (JSON, ''
 * while open).
 */
export class DisputeStore {
  constructor(private readonly tables: TableGateway) {}

  async list(tenantId: string): Promise<Dispute[]> {
    const rows = await this.tables.listPartition(TABLES.disputes, tenantId);
    return rows.map((row) => disputeFromRow(row).dispute);
  }

  async get(tenantId: string, id: string): Promise<StoredDispute | undefined> {
    const row = await this.tables.get(TABLES.disputes, tenantId, id);
    return row ? disputeFromRow(row) : undefined;
  }

  /** Saves (creates or replaces) a dispute. */
  async save(tenantId: string, dispute: Dispute): Promise<void> {
    await this.tables.upsert(TABLES.disputes, disputeToRow(tenantId, dispute));
  }

  /** Replaces the row if it still has `etag`; false when someone wrote it first. */
  async replaceIfMatch(tenantId: string, dispute: Dispute, etag: string): Promise<boolean> {
    try {
      await this.tables.replaceIfMatch(TABLES.disputes, disputeToRow(tenantId, dispute), etag);
      return true;
    } catch (error) {
      if (isWriteConflict(error)) return false;
      throw error;
    }
  }
}

export function disputeToRow(tenantId: string, dispute: Dispute): Row {
  return {
    partitionKey: tenantId,
    rowKey: dispute.id,
    candidates: JSON.stringify(dispute.candidates),
    emails: JSON.stringify(dispute.emails),
    createdAt: dispute.createdAt,
    runId: dispute.runId,
    state: dispute.state,
    resolution: dispute.resolution ? JSON.stringify(dispute.resolution) : '',
  };
}

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

function textList(value: unknown): string[] {
  const raw = text(value);
  if (raw === '') return [];
  try {
    const parsed = z.array(z.string()).safeParse(JSON.parse(raw));
    if (parsed.success) return parsed.data;
  } catch {
    // not JSON: a single value or a comma-separated list
  }
  return raw
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

export function disputeFromRow(row: Row): StoredDispute {
  let resolution: DisputeResolution | null = null;
  const rawResolution = text(row.resolution);
  if (rawResolution !== '') {
    try {
      const parsed = disputeResolutionSchema.safeParse(JSON.parse(rawResolution));
      resolution = parsed.success ? parsed.data : null;
    } catch {
      resolution = null;
    }
  }
  return {
    dispute: {
      id: row.rowKey,
      candidates: textList(row.candidates),
      emails: textList(row.emails),
      createdAt: text(row.createdAt),
      runId: text(row.runId),
      state: row.state === 'resolved' ? 'resolved' : 'open',
      resolution,
    },
    etag: row.etag,
  };
}
