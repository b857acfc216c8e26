import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import { odata } from '@azure/data-tables';

import { TransientError } from '../../shared/errors.js';
import { TABLES } from './storage-names.js';
import { isWriteConflict, statusOf, type TableGateway } from './table-gateway.js';

/** The holder's view of its lock: whether it still holds it. */
export interface PartitionLease {
  /** Throws (transient: the message is retried) when the lock was lost to another holder. */
  assertHeld(): void;
  /** When the lock ends unless renewed (ms since the epoch): the time written on its row, never later. */
  heldUntil(): number;
}

/** A lock as its row says: its name, since when its holder has it, until when (ms since the epoch). */
export interface HeldLock {
  readonly name: string;
  readonly since: number;
  readonly expiresAt: number;
}

/**
 * A lock is short and renewed (every third of it) while its work runs, so a dead holder is replaced
 * within seconds: the chunks of its buckets wait for it, and while they wait they fill the host's
 * slots (under chaos, 20,000 users and 5 kills, a 15 s lock left a new host idle for 9 s). A holder
 * that outlives its lock cannot overwrite another's work: every row it writes is ETag-conditioned or
 * created, and so is the managers index's blob.
 */
export const PARTITION_LOCK_SECONDS = 5;

/** A lock's row in syncState: PartitionKey the tenant, RowKey `lock|<name>`. */
const LOCK_PREFIX = 'lock|';
const LOCK_END = 'lock}';

/**
 * What one process knows of its locks (per storage account: `TableGateway.scope`). Its holders of one
 * lock queue here, in order, instead of polling the lock row; and a lock this process released last
 * is taken by its next holder over the ETag of that release, with no read: if another process wrote
 * the row since, the ETag no longer matches and the lock is taken the ordinary way.
 */
interface LocalLocks {
  readonly released: Map<string, string>;
  readonly queues: Map<string, Promise<void>>;
}
const localLocks = new WeakMap<object, LocalLocks>();

function localLocksOf(tables: TableGateway): LocalLocks {
  let found = localLocks.get(tables.scope);
  if (!found) {
    found = { released: new Map(), queues: new Map() };
    localLocks.set(tables.scope, found);
  }
  return found;
}

/**
 * A lease on one of a tenant's partitions (a row in syncState taken with ETag conditions), so that two
 * chunks of the same bucket are applied one after the other: each reads, decides and writes alone.
 * The lease is renewed every third of its length while `work` runs; a holder paused past it loses it,
 * and `assertHeld` (checked before each write) stops it from writing.
 */
export async function withPartitionLock<T>(
  tables: TableGateway,
  tenantId: string,
  name: string,
  work: (lease: PartitionLease) => Promise<T>,
  options: { leaseSeconds?: number; waitSeconds?: number } = {},
): Promise<T> {
  const leaseMs = (options.leaseSeconds ?? PARTITION_LOCK_SECONDS) * 1000;
  const giveUpAt = Date.now() + (options.waitSeconds ?? 120) * 1000;
  const rowKey = `${LOCK_PREFIX}${name}`;
  const local = localLocksOf(tables);
  const key = `${tenantId}|${rowKey}`;
  const before = local.queues.get(key) ?? Promise.resolve();
  let leave!: () => void;
  const turn = new Promise<void>((resolve) => (leave = resolve));
  const tail = before.then(() => turn);
  local.queues.set(key, tail);
  try {
    // A predecessor that keeps the lock longer than a lease (a long chunk renewing it, or one paused
    // past it) is waited for on the row, as another process's holder is.
    await settlesBefore(before, Math.min(giveUpAt, Date.now() + leaseMs));
    return await holdRow(tables, tenantId, name, rowKey, local, key, leaseMs, giveUpAt, work);
  } finally {
    leave();
    if (local.queues.get(key) === tail) local.queues.delete(key);
  }
}

/** Waits for `promise` to settle, or for `deadline` (epoch ms), whichever comes first. */
async function settlesBefore(promise: Promise<void>, deadline: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
  });
  try {
    await Promise.race([promise, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

async function holdRow<T>(
  tables: TableGateway,
  tenantId: string,
  name: string,
  rowKey: string,
  local: LocalLocks,
  key: string,
  leaseMs: number,
  giveUpAt: number,
  work: (lease: PartitionLease) => Promise<T>,
): Promise<T> {
  const holder = randomUUID();
  let etag: string | undefined;
  let since = 0;
  let expiresAt = 0;
  const released = local.released.get(key);
  local.released.delete(key);
  const takenOver =
    released === undefined
      ? undefined
      : await tryTakeOver(tables, tenantId, rowKey, holder, leaseMs, released);
  if (takenOver) ({ etag, since, expiresAt } = takenOver);
  for (let attempt = 0; etag === undefined; attempt += 1) {
    const taken = await tryAcquire(tables, tenantId, rowKey, holder, leaseMs);
    if (taken !== undefined) {
      ({ etag, since, expiresAt } = taken);
      break;
    }
    if (Date.now() > giveUpAt) throw new TransientError(`partition ${name} stayed locked; will retry`);
    await sleep(Math.min(200, 10 + attempt * 5) + Math.random() * 20);
  }
  let held = true;
  const renew = async (): Promise<void> => {
    // Another holder goes by the time on the row, counted from before the request was sent.
    const until = Date.now() + leaseMs;
    try {
      const updated = await tables
        .client(TABLES.syncState)
        .updateEntity({ partitionKey: tenantId, rowKey, holder, since, expiresAt: until }, 'Replace', {
          etag: etag!,
        });
      etag = updated.etag!;
      expiresAt = until;
    } catch (error) {
      if (isWriteConflict(error)) held = false;
    }
  };
  let renewing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    renewing = renewing.then(renew);
  }, leaseMs / 3);
  const lease: PartitionLease = {
    assertHeld: () => {
      if (!held || Date.now() > expiresAt) {
        throw new TransientError(`lock of partition ${name} was lost; the message will be retried`);
      }
    },
    heldUntil: () => expiresAt,
  };
  try {
    return await work(lease);
  } finally {
    clearInterval(timer);
    await renewing;
    if (held) {
      const releasedAs = await release(tables, tenantId, rowKey, etag);
      if (releasedAs !== undefined) local.released.set(key, releasedAs);
    }
  }
}

/** Takes a lock this process released last, over the ETag of that release (no read of the row). */
async function tryTakeOver(
  tables: TableGateway,
  tenantId: string,
  rowKey: string,
  holder: string,
  leaseMs: number,
  releasedEtag: string,
): Promise<Taken | undefined> {
  const lease = newLease(tenantId, rowKey, holder, leaseMs);
  try {
    return await replaceLease(tables, lease, releasedEtag);
  } catch (error) {
    // Written by another process since (or gone): taken the ordinary way.
    if (isWriteConflict(error) || statusOf(error) === 404) return undefined;
    throw error;
  }
}

async function tryAcquire(
  tables: TableGateway,
  tenantId: string,
  rowKey: string,
  holder: string,
  leaseMs: number,
): Promise<Taken | undefined> {
  const lease = newLease(tenantId, rowKey, holder, leaseMs);
  const now = lease.since;
  const client = tables.client(TABLES.syncState);
  const current = await tables.get(TABLES.syncState, tenantId, rowKey);
  try {
    if (!current) {
      const created = await client.createEntity(lease);
      tables.meter.count(TABLES.syncState, 1, 1);
      return taken(created.etag!, lease);
    }
    if (typeof current.expiresAt === 'number' && current.expiresAt > now) return undefined;
    return await replaceLease(tables, lease, current.etag!);
  } catch (error) {
    if (isWriteConflict(error)) return undefined;
    throw error;
  }
}

/** A lock row as a holder writes it: taken now, until its lease ends. */
interface LeaseRow {
  readonly partitionKey: string;
  readonly rowKey: string;
  readonly holder: string;
  readonly since: number;
  readonly expiresAt: number;
}

/** A lock a holder has taken: its row's ETag, since when and until when it holds it. */
interface Taken {
  readonly etag: string;
  readonly since: number;
  readonly expiresAt: number;
}

function newLease(tenantId: string, rowKey: string, holder: string, leaseMs: number): LeaseRow {
  const now = Date.now();
  return { partitionKey: tenantId, rowKey, holder, since: now, expiresAt: now + leaseMs };
}

function taken(etag: string, lease: LeaseRow): Taken {
  return { etag, since: lease.since, expiresAt: lease.expiresAt };
}

/** Writes this holder's lease over the lock row as it was when it had `etag` (If-Match). */
async function replaceLease(tables: TableGateway, lease: LeaseRow, etag: string): Promise<Taken> {
  const updated = await tables.client(TABLES.syncState).updateEntity(lease, 'Replace', { etag });
  tables.meter.count(TABLES.syncState, 1, 1);
  return taken(updated.etag!, lease);
}

/**
 * The tenant's locks that some holder has, as their rows say (one query of the tenant's lock rows): a
 * reader of what holders write can wait for those still writing (src/usecases/feed-writers.ts).
 */
export async function heldLocks(tables: TableGateway, tenantId: string): Promise<HeldLock[]> {
  const rows = await tables.query(
    TABLES.syncState,
    odata`PartitionKey eq ${tenantId} and RowKey ge ${LOCK_PREFIX} and RowKey lt ${LOCK_END}`,
    ['RowKey', 'holder', 'since', 'expiresAt'],
  );
  return rows.flatMap((row) =>
    typeof row.holder === 'string' && row.holder !== '' && typeof row.expiresAt === 'number'
      ? [
          {
            name: row.rowKey.slice(LOCK_PREFIX.length),
            // A row written before holders said since when: since its expiry's lease began.
            since: typeof row.since === 'number' ? row.since : row.expiresAt - PARTITION_LOCK_SECONDS * 1000,
            expiresAt: row.expiresAt,
          },
        ]
      : [],
  );
}

/** Frees the lock; answers the ETag of the freed row (undefined: another holder has it now). */
async function release(
  tables: TableGateway,
  tenantId: string,
  rowKey: string,
  etag: string,
): Promise<string | undefined> {
  try {
    const updated = await tables
      .client(TABLES.syncState)
      .updateEntity({ partitionKey: tenantId, rowKey, holder: '', expiresAt: 0 }, 'Replace', { etag });
    tables.meter.count(TABLES.syncState, 1, 1);
    return updated.etag;
  } catch (error) {
    // Our lease expired and someone else holds it now: theirs to release.
    if (!isWriteConflict(error)) throw error;
    return undefined;
  }
}
