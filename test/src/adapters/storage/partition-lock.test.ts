/**
 * The partition lock on Azurite: chunks of one bucket apply one after the other, a holder keeps its lock
 * only PARTITION_LOCK_SECONDS past its last renewal (so a dead host's buckets are free again within
 * seconds), and a lock a dead holder left is taken once it has expired, never before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type EmbeddedAzurite, startAzurite } from '../../../../local/azurite/embedded-azurite.js';
import {
  heldLocks,
  PARTITION_LOCK_SECONDS,
  withPartitionLock,
} from '../../../../src/adapters/storage/partition-lock.js';
import { storageAccountFromConnectionString } from '../../../../src/adapters/storage/storage-account.js';
import { TABLES } from '../../../../src/adapters/storage/storage-names.js';
import { TableGateway, WriteMeter } from '../../../../src/adapters/storage/table-gateway.js';

const TENANT = '5a0c1f5e-2b1c-4d3e-8a51-1f0a4b3c2d77';

describe('the partition lock', () => {
  let azurite: EmbeddedAzurite;
  let tables: TableGateway;

  beforeAll(async () => {
    azurite = await startAzurite();
    tables = new TableGateway(storageAccountFromConnectionString(azurite.connectionString));
    await tables.client(TABLES.syncState).createTable();
  });
  afterAll(async () => {
    await azurite?.stop();
  });

  /** Writes the lock row as another process's holder would, for `ms` more; answers its expiry. */
  async function heldElsewhere(name: string, holder: string, ms: number): Promise<number> {
    const expiresAt = Date.now() + ms;
    await tables.upsert(TABLES.syncState, {
      partitionKey: TENANT,
      rowKey: `lock|${name}`,
      holder,
      expiresAt,
    });
    return expiresAt;
  }

  it('is held for 5 s past its last renewal, the bound on how long a dead holder blocks its bucket', async () => {
    expect(PARTITION_LOCK_SECONDS).toBe(5);
    await withPartitionLock(tables, TENANT, 'users:1', async () => {
      const row = await tables.get(TABLES.syncState, TENANT, 'lock|users:1');
      const left = Number(row?.expiresAt) - Date.now();
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThanOrEqual(PARTITION_LOCK_SECONDS * 1000);
    });
  });

  it('runs the work of one partition one holder at a time', async () => {
    const running: string[] = [];
    const overlaps: string[] = [];
    await Promise.all(
      ['a', 'b', 'c', 'd'].map((who) =>
        withPartitionLock(tables, TENANT, 'users:2', async () => {
          if (running.length > 0) overlaps.push(`${who} with ${running.join(',')}`);
          running.push(who);
          await new Promise((resolve) => setTimeout(resolve, 30));
          running.splice(running.indexOf(who), 1);
        }),
      ),
    );
    expect(overlaps).toEqual([]);
  });

  it("takes a dead holder's lock once it has expired, never before", async () => {
    const expiresAt = await heldElsewhere('users:3', 'a host that died', 800);
    const startedAt = await withPartitionLock(tables, TENANT, 'users:3', () => Promise.resolve(Date.now()));
    expect(startedAt).toBeGreaterThanOrEqual(expiresAt);
  });

  it('never believes itself held longer than its row says, after taking the lock and after each renewal', async () => {
    const seen: { believed: number; written: number }[] = [];
    await withPartitionLock(
      tables,
      TENANT,
      'users:4',
      async (lease) => {
        for (let i = 0; i < 4; i += 1) {
          // Asked before the row is read: a renewal that answers during the read moves only the row on.
          const believed = lease.heldUntil();
          const row = await tables.get(TABLES.syncState, TENANT, 'lock|users:4');
          seen.push({ believed, written: Number(row?.expiresAt) });
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      },
      { leaseSeconds: 0.6 },
    );
    // Another holder may take the lock once the row's time has passed: a holder that counted its own
    // time from when the renewal answered would write on past it.
    for (const { believed, written } of seen) expect(believed).toBeLessThanOrEqual(written);
    expect(new Set(seen.map((s) => s.written)).size).toBeGreaterThan(1);
  });

  it("hands the lock to this process's next holder without reading the lock row, and still defers to another process's holder", async () => {
    let reads = 0;
    // Each holder with its own gateway, as each invocation has (AppServices.deps: withMeter).
    const counting = (): TableGateway =>
      new Proxy(tables.withMeter(new WriteMeter()), {
        get(target, property, receiver) {
          const value: unknown = Reflect.get(target, property, receiver);
          if (typeof value !== 'function') return value;
          if (property !== 'get') return (value as (...a: unknown[]) => unknown).bind(target);
          return (...args: unknown[]): unknown => {
            if (args[0] === TABLES.syncState) reads += 1;
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
    const order: string[] = [];
    await Promise.all(
      ['a', 'b', 'c', 'd'].map((who) =>
        withPartitionLock(counting(), TENANT, 'users:5', async () => {
          order.push(who);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }),
      ),
    );
    expect(order).toHaveLength(4);
    // The first holder reads the row (nothing is known of it); each next one takes it over the ETag of
    // its predecessor's release, with no read and no polling.
    expect(reads).toBe(1);

    // Another process takes the lock meanwhile: the ETag this process kept is stale, and the lock is
    // taken only once the other holder's time has passed.
    const expiresAt = await heldElsewhere('users:5', 'another host', 600);
    const startedAt = await withPartitionLock(counting(), TENANT, 'users:5', () =>
      Promise.resolve(Date.now()),
    );
    expect(startedAt).toBeGreaterThanOrEqual(expiresAt);
  });

  it('says, while held and after each renewal, since when its holder has it; a released lock is not held', async () => {
    const before = Date.now();
    const seen: number[] = [];
    await withPartitionLock(
      tables,
      TENANT,
      'users:6',
      async () => {
        for (let i = 0; i < 3; i += 1) {
          const held = (await heldLocks(tables, TENANT)).filter((lock) => lock.name === 'users:6');
          expect(held).toHaveLength(1);
          seen.push(held[0]!.since);
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      },
      { leaseSeconds: 0.6 },
    );
    // Renewals move the expiry on, never the time the holder took it.
    expect(new Set(seen).size).toBe(1);
    expect(seen[0]).toBeGreaterThanOrEqual(before);
    expect((await heldLocks(tables, TENANT)).map((lock) => lock.name)).not.toContain('users:6');
  });
});
