import { randomUUID } from 'node:crypto';

import { z } from 'zod';

import { TABLES } from './storage-names.js';
import { isWriteConflict, statusOf, type TableGateway } from './table-gateway.js';

/**
 * A tenant's sync state in `syncState`: the cursor (delta links, the round in flight with its
 * checkpoint) and the lease that lets one round run at a time. Only the lease holder writes the cursor.
 */
const roundSchema = z.object({
  tenantId: z.string(),
  runId: z.string(),
  runKey: z.string(),
  seq: z.number().int(),
  trigger: z.enum(['initial', 'schedule', 'notification', 'manual']),
  full: z.boolean(),
  /** Which phases read the whole tenant (and so may find what vanished). */
  fullUsers: z.boolean(),
  fullGroups: z.boolean(),
  /** The tenant's first round: its chunks may create rows without reading. */
  fresh: z.boolean().default(false),
  phase: z.enum(['users', 'groups', 'sweep']),
  /** The next page to read in the current phase (the checkpoint); null = the phase's first request. */
  nextLink: z.string().nullable(),
  page: z.number().int(),
  chunkIndex: z.number().int(),
  flushNo: z.number().int(),
  errors: z.number().int(),
  graphRequests: z.number().int(),
  pendingUsersDeltaLink: z.string().nullable(),
  pendingGroupsDeltaLink: z.string().nullable(),
});
export type Round = z.infer<typeof roundSchema>;

const cursorSchema = z.object({
  usersDeltaLink: z.string().nullable().default(null),
  groupsDeltaLink: z.string().nullable().default(null),
  lastRound: z.number().int().default(0),
  lastRunKey: z.string().nullable().default(null),
  round: roundSchema.nullable().default(null),
});
export type Cursor = z.infer<typeof cursorSchema>;

export interface Lease {
  readonly holder: string;
  etag: string;
}

export class SyncStateStore {
  constructor(
    private readonly tables: TableGateway,
    private readonly leaseSeconds: number,
  ) {}

  async readCursor(tenantId: string): Promise<{ cursor: Cursor; etag: string | undefined }> {
    const row = await this.tables.get(TABLES.syncState, tenantId, 'cursor');
    if (!row) return { cursor: cursorSchema.parse({}), etag: undefined };
    const cursor = cursorSchema.parse(JSON.parse(String(row.state)));
    return { cursor, etag: row.etag };
  }

  /** Saves the cursor; the lease is renewed in the same breath so a live round never loses it. */
  async saveCursor(tenantId: string, cursor: Cursor, lease: Lease): Promise<void> {
    await this.renewLease(tenantId, lease);
    await this.tables.upsert(TABLES.syncState, {
      partitionKey: tenantId,
      rowKey: 'cursor',
      state: JSON.stringify(cursor),
    });
  }

  /** Takes the tenant's round lease, or returns undefined while another live round holds it. */
  async acquireLease(tenantId: string): Promise<Lease | undefined> {
    const holder = randomUUID();
    const row = await this.tables.get(TABLES.syncState, tenantId, 'lease');
    const entity = {
      partitionKey: tenantId,
      rowKey: 'lease',
      holder,
      expiresAt: this.#expiry(),
      dirty: false,
    };
    const client = this.tables.client(TABLES.syncState);
    try {
      if (!row) {
        const created = await client.createEntity(entity);
        this.tables.meter.count(TABLES.syncState, 1, 1);
        return { holder, etag: created.etag! };
      }
      if (typeof row.expiresAt === 'number' && row.expiresAt > Date.now() && row.holder !== '')
        return undefined;
      const updated = await client.updateEntity(entity, 'Replace', { etag: row.etag! });
      this.tables.meter.count(TABLES.syncState, 1, 1);
      return { holder, etag: updated.etag! };
    } catch (error) {
      if (isWriteConflict(error)) return undefined;
      throw error;
    }
  }

  /** Extends the lease; throws if it was lost (the round must stop: someone else runs it now). */
  async renewLease(tenantId: string, lease: Lease): Promise<void> {
    const row = await this.tables.get(TABLES.syncState, tenantId, 'lease');
    if (!row || row.holder !== lease.holder) throw new Error(`round lease of tenant ${tenantId} was lost`);
    const updated = await this.tables
      .client(TABLES.syncState)
      .updateEntity({ ...row, expiresAt: this.#expiry() }, 'Replace', { etag: row.etag! });
    this.tables.meter.count(TABLES.syncState, 1, 1);
    lease.etag = updated.etag!;
  }

  /** Releases the lease; returns whether a sync was requested while the round ran (coalesced). */
  async releaseLease(tenantId: string, lease: Lease): Promise<boolean> {
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const row = await this.tables.get(TABLES.syncState, tenantId, 'lease');
      if (!row || row.holder !== lease.holder) return false;
      try {
        await this.tables
          .client(TABLES.syncState)
          .updateEntity(
            { partitionKey: tenantId, rowKey: 'lease', holder: '', expiresAt: 0, dirty: false },
            'Replace',
            {
              etag: row.etag!,
            },
          );
        this.tables.meter.count(TABLES.syncState, 1, 1);
        return row.dirty === true;
      } catch (error) {
        if (!isWriteConflict(error)) throw error;
      }
    }
    return false;
  }

  /** Notes that a sync was asked for while a round was running: the holder runs another one after. */
  async markDirty(tenantId: string): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const row = await this.tables.get(TABLES.syncState, tenantId, 'lease');
      if (!row || row.dirty === true) return;
      try {
        await this.tables
          .client(TABLES.syncState)
          .updateEntity({ ...row, dirty: true }, 'Replace', { etag: row.etag! });
        this.tables.meter.count(TABLES.syncState, 1, 1);
        return;
      } catch (error) {
        if (!isWriteConflict(error) && statusOf(error) !== 404) throw error;
      }
    }
  }

  /** True when a round is in flight but its lease has expired (its fetcher died): it must be resumed. */
  async hasStalledRound(tenantId: string): Promise<boolean> {
    const { cursor } = await this.readCursor(tenantId);
    if (!cursor.round) return false;
    const lease = await this.tables.get(TABLES.syncState, tenantId, 'lease');
    return (
      !lease || lease.holder === '' || typeof lease.expiresAt !== 'number' || lease.expiresAt <= Date.now()
    );
  }

  #expiry(): number {
    return Date.now() + this.leaseSeconds * 1000;
  }
}
