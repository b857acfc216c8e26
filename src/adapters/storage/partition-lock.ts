import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import { TransientError } from '../../shared/errors.js';
import { TABLES } from './storage-names.js';
import { isWriteConflict, type TableGateway } from './table-gateway.js';

/**
 * A lease on one of a tenant's partitions (a row in syncState taken with ETag conditions), so that two
 * chunks of the same bucket are applied one after the other: each reads, decides and writes alone.
 */
export async function withPartitionLock<T>(
  tables: TableGateway,
  tenantId: string,
  name: string,
  work: () => Promise<T>,
  options: { leaseSeconds?: number; waitSeconds?: number } = {},
): Promise<T> {
  const leaseMs = (options.leaseSeconds ?? 60) * 1000;
  const giveUpAt = Date.now() + (options.waitSeconds ?? 120) * 1000;
  const rowKey = `lock|${name}`;
  const holder = randomUUID();
  let etag: string | undefined;
  for (let attempt = 0; etag === undefined; attempt += 1) {
    etag = await tryAcquire(tables, tenantId, rowKey, holder, leaseMs);
    if (etag !== undefined) break;
    if (Date.now() > giveUpAt) throw new TransientError(`partition ${name} stayed locked; will retry`);
    await sleep(Math.min(200, 10 + attempt * 5) + Math.random() * 20);
  }
  try {
    return await work();
  } finally {
    await release(tables, tenantId, rowKey, etag);
  }
}

async function tryAcquire(
  tables: TableGateway,
  tenantId: string,
  rowKey: string,
  holder: string,
  leaseMs: number,
): Promise<string | undefined> {
  const now = Date.now();
  const lease = { partitionKey: tenantId, rowKey, holder, expiresAt: now + leaseMs };
  const client = tables.client(TABLES.syncState);
  const current = await tables.get(TABLES.syncState, tenantId, rowKey);
  try {
    if (!current) {
      const created = await client.createEntity(lease);
      tables.meter.count(TABLES.syncState, 1, 1);
      return created.etag;
    }
    if (typeof current.expiresAt === 'number' && current.expiresAt > now) return undefined;
    const updated = await client.updateEntity(lease, 'Replace', { etag: current.etag! });
    tables.meter.count(TABLES.syncState, 1, 1);
    return updated.etag;
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
