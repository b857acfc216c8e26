import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import { TransientError } from '../../shared/errors.js';
import { TABLES } from './storage-names.js';
import { isWriteConflict, type TableGateway } from './table-gateway.js';

/** The holder's view of its lock: whether it still holds it. */
export interface PartitionLease {
  /** Throws (transient: the message is retried) when the lock was lost to another holder. */
  assertHeld(): void;
  /** When the lock ends unless renewed (ms since the epoch): the time written on its row, never later. */
  heldUntil(): number;
}

/**
 * A lock is short and renewed (every third of it) while its work runs, so a dead holder is replaced
 * within seconds: the chunks of its buckets wait for it, and while they wait they fill the host's
 * slots (under chaos, 20,000 users and 5 kills, a 15 s lock left a new host idle for 9 s). A holder
 * that outlives its lock cannot overwrite another's work: every row it writes is ETag-conditioned or
 * created, and so is the managers index's blob.
 */
export const PARTITION_LOCK_SECONDS = 5;

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
  const rowKey = `lock|${name}`;
  const holder = randomUUID();
  let etag: string | undefined;
  let expiresAt = 0;
  for (let attempt = 0; etag === undefined; attempt += 1) {
    const taken = await tryAcquire(tables, tenantId, rowKey, holder, leaseMs);
    if (taken !== undefined) {
      ({ etag, expiresAt } = taken);
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
        .updateEntity({ partitionKey: tenantId, rowKey, holder, expiresAt: until }, 'Replace', {
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
    if (held) await release(tables, tenantId, rowKey, etag);
  }
}

async function tryAcquire(
  tables: TableGateway,
  tenantId: string,
  rowKey: string,
  holder: string,
  leaseMs: number,
): Promise<{ etag: string; expiresAt: number } | undefined> {
  const now = Date.now();
  const lease = { partitionKey: tenantId, rowKey, holder, expiresAt: now + leaseMs };
  const client = tables.client(TABLES.syncState);
  const current = await tables.get(TABLES.syncState, tenantId, rowKey);
  try {
    if (!current) {
      const created = await client.createEntity(lease);
      tables.meter.count(TABLES.syncState, 1, 1);
      return { etag: created.etag!, expiresAt: lease.expiresAt };
    }
    if (typeof current.expiresAt === 'number' && current.expiresAt > now) return undefined;
    const updated = await client.updateEntity(lease, 'Replace', { etag: current.etag! });
    tables.meter.count(TABLES.syncState, 1, 1);
    return { etag: updated.etag!, expiresAt: lease.expiresAt };
  } catch (error) {
    if (isWriteConflict(error)) return undefined;
    throw error;
  }
}

async function release(tables: TableGateway, tenantId: string, rowKey: string, etag: string): Promise<void> {
  try {
    await tables
      .client(TABLES.syncState)
      .updateEntity({ partitionKey: tenantId, rowKey, holder: '', expiresAt: 0 }, 'Replace', { etag });
    tables.meter.count(TABLES.syncState, 1, 1);
  } catch (error) {
    // Our lease expired and someone else holds it now: theirs to release.
    if (!isWriteConflict(error)) throw error;
  }
}
