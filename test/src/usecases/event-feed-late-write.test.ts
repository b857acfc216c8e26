/**
 * The feed against Azurite when a chunk's writes take longer than the settle lag: an event's feed key is
 * its change's time, taken when the chunk plans, and a reader (GET /api/events, the webhook's deliverer)
 * reads only keys older than the lag, then goes on after the last key it read. A chunk whose people write
 * and feed write land later than the lag after that time puts its event behind a cursor that a faster
 * chunk of another bucket has already moved past, unless readers wait for writers still writing
 * (src/usecases/feed-writers.ts).
 */
import type { TransactionAction } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type EmbeddedAzurite, startAzurite } from '../../../local/azurite/embedded-azurite.js';
import { storageAccountFromConnectionString } from '../../../src/adapters/storage/storage-account.js';
import { type TableName, TABLES } from '../../../src/adapters/storage/storage-names.js';
import { TableGateway } from '../../../src/adapters/storage/table-gateway.js';
import { userBucketOf } from '../../../src/domain/bucket.js';
import { personIdFor } from '../../../src/domain/person-id.js';
import { feedHorizon } from '../../../src/usecases/feed-writers.js';
import type { PipelineDeps } from '../../../src/usecases/pipeline-deps.js';
import { readEvents } from '../../../src/usecases/read-events.js';
import { applyUserBucket, type BucketWork } from '../../../src/usecases/reconcile-chunk.js';
import { TENANT, USER_ID } from '../domain/arbitraries.js';
import { oneUserWork } from './one-user-work.js';

const BUCKETS = 16;
const SETTLE_MS = 100;
const SLOW_MS = 600;
const OTHER_USER = '1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f';

/** A gateway whose people writes in one partition take SLOW_MS (as under a saturated storage account). */
class SlowPartitionGateway extends TableGateway {
  slowPartition = '';
  override async transact(
    table: TableName,
    actions: readonly TransactionAction[],
    options?: { concurrency?: number },
  ): Promise<void> {
    if (table === TABLES.people && actions.some(([, entity]) => entity.partitionKey === this.slowPartition))
      await new Promise((resolve) => setTimeout(resolve, SLOW_MS));
    return super.transact(table, actions, options);
  }
}

describe('the feed when a chunk writes later than the settle lag', () => {
  let azurite: EmbeddedAzurite;
  let tables: SlowPartitionGateway;

  beforeAll(async () => {
    azurite = await startAzurite();
    tables = new SlowPartitionGateway(storageAccountFromConnectionString(azurite.connectionString));
    await Promise.all(Object.values(TABLES).map((t) => tables.client(t).createTable()));
  });
  afterAll(async () => {
    await azurite?.stop();
  });

  function created(userId: string): BucketWork {
    const mail = `${userId}@contoso.onmicrosoft.com`;
    return oneUserWork({
      userId,
      round: 1,
      runId: 'run-1',
      buckets: BUCKETS,
      facts: { mail, userPrincipalName: mail, proxyAddresses: [`SMTP:${mail}`] },
    });
  }

  it('a reader that follows its cursor sees the event of a chunk whose writes landed after the lag, behind a faster chunk', async () => {
    expect(userBucketOf(TENANT, OTHER_USER, BUCKETS)).not.toBe(userBucketOf(TENANT, USER_ID, BUCKETS));
    const slow = created(USER_ID);
    tables.slowPartition = `${TENANT}|${String(slow.bucket).padStart(2, '0')}`;
    const slowApplied = applyUserBucket(tables, slow);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await applyUserBucket(tables, created(OTHER_USER));
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS + 50));

    const deps = { tables, buckets: BUCKETS, now: () => new Date() } as unknown as PipelineDeps;
    const read = async (after?: string) => {
      const page = await readEvents(deps, TENANT, {
        ...(after ? { after } : {}),
        limit: 100,
        settleMs: SETTLE_MS,
      });
      if (!page.ok) throw new Error(page.error);
      return page.value;
    };
    // The reader meanwhile: not past the slow chunk's event, which is still being written.
    const first = await read();
    expect(first.events.map((e) => e.subjectId)).not.toContain(personIdFor(TENANT, OTHER_USER));

    await slowApplied;
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS + 50));
    const next = await read(first.cursor ?? undefined);
    // Both, once each, in the order of their changes.
    expect([...first.events, ...next.events].map((e) => e.subjectId)).toEqual([
      personIdFor(TENANT, USER_ID),
      personIdFor(TENANT, OTHER_USER),
    ]);
  });

  it("a dead writer's lock holds readers back one settle lag past its expiry, then no more; the deliverer's own lock never does", async () => {
    const now = Date.now();
    const lock = (name: string, since: number, expiresAt: number) =>
      tables.upsert(TABLES.syncState, {
        partitionKey: TENANT,
        rowKey: `lock|${name}`,
        holder: 'a host that died',
        since,
        expiresAt,
      });
    await lock('users:9', now - 60_000, now + 1_000);
    await lock('event-delivery', now - 120_000, now + 1_000);
    const at = (ms: number) => new Date(ms).toISOString();

    expect(await feedHorizon(tables, TENANT, new Date(now), SETTLE_MS)).toBe(at(now - 60_000));
    expect(await feedHorizon(tables, TENANT, new Date(now + 1_000 + SETTLE_MS - 1), SETTLE_MS)).toBe(
      at(now - 60_000),
    );
    const later = now + 1_000 + SETTLE_MS + 1;
    expect(await feedHorizon(tables, TENANT, new Date(later), SETTLE_MS)).toBe(at(later - SETTLE_MS));
  });
});
