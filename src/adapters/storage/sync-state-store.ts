import { randomUUID } from 'node:crypto';

import { z } from 'zod';

import { TRIGGERS } from '../../usecases/messages.js';
import { TABLES } from './storage-names.js';
import { isWriteConflict, type Row, statusOf, type TableGateway } from './table-gateway.js';

/**
 * A tenant's sync state in `syncState`: the cursor (delta links, the round in flight with its
 * checkpoint) and the lease that lets one round run at a time. Only the lease holder writes the cursor.
 */
const roundSchema = z.object({
  tenantId: z.string(),
  runId: z.string(),
  runKey: z.string(),
  seq: z.number().int(),
  trigger: z.enum(TRIGGERS),
  full: z.boolean(),
  /** Which phases read the whole tenant (and so may find what vanished). */
  fullUsers: z.boolean(),
  fullGroups: z.boolean(),
  /** The tenant's first round: its chunks may create rows without reading. */
  fresh: z.boolean().default(false),
  /** `published`: everything read is recorded and checkpointed (its last flush maybe not all sent). */
  phase: z.enum(['users', 'groups', 'sweep', 'published']),
  /** The next page to read in the current phase (the checkpoint); null = the phase's first request. */
  nextLink: z.string().nullable(),
  page: z.number().int(),
  chunkIndex: z.number().int(),
  /**
   * The first chunk of the flush this checkpoint was saved for, between recording its messages and
   * sending them: a round resumed from it sends again those of them that no reconciler has begun.
   */
  sendingFrom: z.number().int().nullable().default(null),
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
  /** The bucket count the tenant's rows are partitioned by: SYNC_BUCKETS at its first round. */
  buckets: z.number().int().positive().nullable().default(null),
  round: roundSchema.nullable().default(null),
});
export type Cursor = z.infer<typeof cursorSchema>;

export interface Lease {
  readonly holder: string;
  /** Grows by one on every acquisition of the tenant's lease: a stale holder has a smaller epoch. */
  readonly epoch: number;
  etag: string;
}

/** The round lease was taken by someone else (it expired while its holder was paused or slow). */
export class LeaseLostError extends Error {
  constructor(readonly tenantId: string) {
    super(`round lease of tenant ${tenantId} was lost`);
    this.name = 'LeaseLostError';
  }
}

/** What releasing the lease found: whether a sync was requested meanwhile (and whether a full one). */
export interface Released {
  readonly again: boolean;
  readonly full: boolean;
  /** The request ids coalesced into the dirty mark: the follow-up round carries them. */
  readonly requestIds?: readonly string[];
}

/** A lease kept alive in the background while its holder works (see SyncStateStore.keepAlive). */
export interface LeaseKeeper {
  /** True once a renewal found the lease held by someone else (or expired before it could be renewed). */
  readonly lost: boolean;
  /** Throws LeaseLostError once the lease is lost. */
  assertHeld(): void;
  /** Stops renewing (the lease itself is released with releaseLease). */
  stop(): Promise<void>;
}

/** How many times a read-then-conditional-write of the lease row is retried on a 412 before giving up. */
const LEASE_WRITE_ATTEMPTS = 20;

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

  /**
   * Takes the tenant's round lease, or returns undefined while another live round holds it. A lease
   * taken over from an expired holder keeps its dirty marks (requests made while that round ran).
   */
  async acquireLease(tenantId: string): Promise<Lease | undefined> {
    const holder = randomUUID();
    const row = await this.tables.get(TABLES.syncState, tenantId, 'lease');
    const state = row ? leaseState(row) : undefined;
    if (state && isLive(state)) return undefined;
    const epoch = (state?.epoch ?? 0) + 1;
    const entity = leaseEntity(tenantId, {
      holder,
      epoch,
      expiresAt: this.#expiry(),
      dirty: state?.dirty ?? false,
      dirtyFull: state?.dirtyFull ?? false,
      dirtyRequests: state?.dirtyRequests ?? '',
    });
    const client = this.tables.client(TABLES.syncState);
    try {
      const written = row
        ? await client.updateEntity(entity, 'Replace', { etag: row.etag! })
        : await client.createEntity(entity);
      this.tables.meter.count(TABLES.syncState, 1, 1);
      return { holder, epoch, etag: written.etag! };
    } catch (error) {
      if (isWriteConflict(error)) return undefined;
      throw error;
    }
  }

  /** Extends the lease; throws LeaseLostError if it was lost (the round must stop: someone else runs it). */
  async renewLease(tenantId: string, lease: Lease): Promise<void> {
    for (let attempt = 0; attempt < LEASE_WRITE_ATTEMPTS; attempt += 1) {
      const row = await this.tables.get(TABLES.syncState, tenantId, 'lease');
      const state = row ? leaseState(row) : undefined;
      if (!row || !state || state.holder !== lease.holder || state.epoch !== lease.epoch) {
        throw new LeaseLostError(tenantId);
      }
      try {
        const updated = await this.tables
          .client(TABLES.syncState)
          .updateEntity(leaseEntity(tenantId, { ...state, expiresAt: this.#expiry() }), 'Replace', {
            etag: row.etag!,
          });
        this.tables.meter.count(TABLES.syncState, 1, 1);
        lease.etag = updated.etag!;
        return;
      } catch (error) {
        // A request marked the lease dirty meanwhile (or another renewal ran): re-read and renew again.
        if (!isWriteConflict(error)) throw error;
      }
    }
    throw new Error(`round lease of tenant ${tenantId}: too many concurrent writers`);
  }

  /**
   * Renews the lease every third of its duration until stopped. A renewal that finds the lease taken
   * (or that cannot renew it before it expires) marks it lost: the holder must stop (assertHeld).
   */
  keepAlive(tenantId: string, lease: Lease): LeaseKeeper {
    let lost = false;
    let expiresAt = Date.now() + this.leaseSeconds * 1000;
    let renewing: Promise<void> = Promise.resolve();
    const renew = async (): Promise<void> => {
      if (lost) return;
      try {
        await this.renewLease(tenantId, lease);
        expiresAt = Date.now() + this.leaseSeconds * 1000;
      } catch (error) {
        if (error instanceof LeaseLostError || Date.now() >= expiresAt) lost = true;
      }
    };
    const timer = setInterval(
      () => {
        renewing = renewing.then(renew);
      },
      Math.max(100, (this.leaseSeconds * 1000) / 3),
    );
    const isLost = (): boolean => lost || Date.now() >= expiresAt;
    return {
      get lost() {
        return isLost();
      },
      assertHeld() {
        if (isLost()) throw new LeaseLostError(tenantId);
      },
      async stop() {
        clearInterval(timer);
        await renewing;
      },
    };
  }

  /**
   * Releases the lease; says whether a sync was requested while the round ran (coalesced into the
   * lease's dirty mark), and whether a full one. Conditional on the row read, so a dirty mark written
   * meanwhile is never lost: the release re-reads and reports it.
   */
  async releaseLease(tenantId: string, lease: Lease): Promise<Released> {
    for (let attempt = 0; attempt < LEASE_WRITE_ATTEMPTS; attempt += 1) {
      const row = await this.tables.get(TABLES.syncState, tenantId, 'lease');
      const state = row ? leaseState(row) : undefined;
      if (!row || !state || state.holder !== lease.holder || state.epoch !== lease.epoch) {
        return { again: false, full: false };
      }
      try {
        await this.tables.client(TABLES.syncState).updateEntity(
          leaseEntity(tenantId, {
            holder: '',
            epoch: state.epoch,
            expiresAt: 0,
            dirty: false,
            dirtyFull: false,
            dirtyRequests: '',
          }),
          'Replace',
          { etag: row.etag! },
        );
        this.tables.meter.count(TABLES.syncState, 1, 1);
        const requestIds = state.dirty ? requestIdsOf(state.dirtyRequests) : [];
        return {
          again: state.dirty,
          full: state.dirty && state.dirtyFull,
          ...(requestIds.length > 0 ? { requestIds } : {}),
        };
      } catch (error) {
        if (!isWriteConflict(error)) throw error;
      }
    }
    throw new Error(`round lease of tenant ${tenantId}: too many concurrent writers`);
  }

  /**
   * Notes that a sync (a full one when `full`) was asked for while a round runs, so its holder runs
   * another one after. Only while the lease is held by a live round, conditional on the row read: it
   * returns false when the lease is free (the caller must try to acquire it and run the round itself).
   */
  async markDirty(tenantId: string, full = false, requestIds: readonly string[] = []): Promise<boolean> {
    for (let attempt = 0; attempt < LEASE_WRITE_ATTEMPTS; attempt += 1) {
      const row = await this.tables.get(TABLES.syncState, tenantId, 'lease');
      const state = row ? leaseState(row) : undefined;
      if (!row || !state || !isLive(state)) return false;
      const known = requestIdsOf(state.dirtyRequests);
      const ids = [...known, ...requestIds.filter((id) => !known.includes(id))].slice(-MAX_COALESCED_IDS);
      if (state.dirty && (state.dirtyFull || !full) && ids.length === known.length) return true;
      try {
        await this.tables.client(TABLES.syncState).updateEntity(
          leaseEntity(tenantId, {
            ...state,
            dirty: true,
            dirtyFull: state.dirtyFull || full,
            dirtyRequests: ids.join(','),
          }),
          'Replace',
          { etag: row.etag! },
        );
        this.tables.meter.count(TABLES.syncState, 1, 1);
        return true;
      } catch (error) {
        if (!isWriteConflict(error) && statusOf(error) !== 404) throw error;
      }
    }
    throw new Error(`round lease of tenant ${tenantId}: too many concurrent writers`);
  }

  /**
   * Records that the tenant's next round must be a full reconciliation (a chunk was lost: the delta
   * link has moved past changes that were never applied).
   */
  async requireFullRound(tenantId: string, reason: string): Promise<void> {
    await this.tables.upsert(TABLES.syncState, {
      partitionKey: tenantId,
      rowKey: 'full-round',
      reason: reason.slice(0, 2000),
      at: Date.now(),
    });
  }

  /** Why the next round must be full, if it must (undefined otherwise), with the row's ETag. */
  async fullRoundRequirement(tenantId: string): Promise<{ reason: string; etag: string } | undefined> {
    const row = await this.tables.get(TABLES.syncState, tenantId, 'full-round');
    return row && typeof row.reason === 'string' ? { reason: row.reason, etag: row.etag! } : undefined;
  }

  /** Clears the requirement a full round now covers (unless it was recorded again meanwhile). */
  async clearFullRoundRequirement(tenantId: string, etag: string): Promise<void> {
    try {
      await this.tables.client(TABLES.syncState).deleteEntity(tenantId, 'full-round', { etag });
    } catch (error) {
      if (!isWriteConflict(error) && statusOf(error) !== 404) throw error;
    }
  }

  /**
   * The lease of the round in flight (undefined when none is): `stalled` once it has expired (its
   * fetcher died: the round must be resumed); else when it ends, and whether its holder has missed a
   * renewal (a live one renews every third of the lease, so it always has more than half of it left).
   */
  async roundLease(
    tenantId: string,
  ): Promise<{ stalled: boolean; endsInMs: number; renewalMissed: boolean } | undefined> {
    const { cursor } = await this.readCursor(tenantId);
    if (!cursor.round) return undefined;
    const row = await this.tables.get(TABLES.syncState, tenantId, 'lease');
    const state = row ? leaseState(row) : undefined;
    if (!state || !isLive(state)) return { stalled: true, endsInMs: 0, renewalMissed: true };
    const endsInMs = state.expiresAt - Date.now();
    return { stalled: false, endsInMs, renewalMissed: endsInMs < (this.leaseSeconds * 1000) / 2 };
  }

  #expiry(): number {
    return Date.now() + this.leaseSeconds * 1000;
  }
}

/** The lease row's columns (`syncState`, RowKey `lease`). */
interface LeaseState {
  readonly holder: string;
  readonly epoch: number;
  readonly expiresAt: number;
  readonly dirty: boolean;
  readonly dirtyFull: boolean;
  /** Comma-separated request ids coalesced into the dirty mark (at most MAX_COALESCED_IDS). */
  readonly dirtyRequests: string;
}

const MAX_COALESCED_IDS = 50;

function requestIdsOf(text: string): string[] {
  return text === '' ? [] : text.split(',');
}

function leaseState(row: Row): LeaseState {
  return {
    holder: typeof row.holder === 'string' ? row.holder : '',
    epoch: typeof row.epoch === 'number' ? row.epoch : 0,
    expiresAt: typeof row.expiresAt === 'number' ? row.expiresAt : 0,
    dirty: row.dirty === true,
    dirtyFull: row.dirtyFull === true,
    dirtyRequests: typeof row.dirtyRequests === 'string' ? row.dirtyRequests : '',
  };
}

function isLive(state: LeaseState): boolean {
  return state.holder !== '' && state.expiresAt > Date.now();
}

function leaseEntity(tenantId: string, state: LeaseState): Row {
  return { partitionKey: tenantId, rowKey: 'lease', ...state };
}
