/** The outbox against Azurite: a crash between a person's write and the feed's loses no event and duplicates none. */
import type { TransactionAction } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type EmbeddedAzurite, startAzurite } from '../../../local/azurite/embedded-azurite.js';
import { personFromRow } from '../../../src/adapters/storage/directory-rows.js';
import { EventStore, outboxOf } from '../../../src/adapters/storage/event-store.js';
import { RunStore } from '../../../src/adapters/storage/run-store.js';
import { storageAccountFromConnectionString } from '../../../src/adapters/storage/storage-account.js';
import { type TableName, TABLES } from '../../../src/adapters/storage/storage-names.js';
import { TableGateway } from '../../../src/adapters/storage/table-gateway.js';
import { bucketPartition, userBucketOf } from '../../../src/domain/bucket.js';
import { observe, type PersonEvent, viewOf } from '../../../src/domain/person-events.js';
import { personIdFor } from '../../../src/domain/person-id.js';
import { applyUserBucket, type BucketWork } from '../../../src/usecases/reconcile-chunk.js';
import { type factsOf, TENANT, USER_ID } from '../domain/arbitraries.js';
import { oneUserWork } from './one-user-work.js';

/**
 * A gateway whose feed write number `crashAt` (1 = the next) fails, as if the process died right before
 * it; `feedWrites` counts the feed's transactions.
 */
class CrashingGateway extends TableGateway {
  crashAt = 0;
  feedWrites = 0;
  override async transact(table: TableName, actions: readonly TransactionAction[]): Promise<void> {
    if (table === TABLES.events) this.feedWrites += 1;
    if (table === TABLES.events && this.crashAt > 0) {
      this.crashAt -= 1;
      if (this.crashAt === 0) throw new Error('the process died');
    }
    return super.transact(table, actions);
  }
}

const BUCKETS = 16;

describe('the outbox on the people row', () => {
  let azurite: EmbeddedAzurite;
  let tables: CrashingGateway;
  let feed: EventStore;
  const bucket = userBucketOf(TENANT, USER_ID, BUCKETS);
  const personId = personIdFor(TENANT, USER_ID);

  beforeAll(async () => {
    azurite = await startAzurite();
    tables = new CrashingGateway(storageAccountFromConnectionString(azurite.connectionString));
    await Promise.all(Object.values(TABLES).map((t) => tables.client(t).createTable()));
    feed = new EventStore(tables, BUCKETS);
  });
  afterAll(async () => {
    await azurite?.stop();
  });

  function work(round: number, runId: string, facts: Parameters<typeof factsOf>[0]): BucketWork {
    return oneUserWork({ userId: USER_ID, round, runId, buckets: BUCKETS, facts });
  }

  async function personRow() {
    return (await tables.get(TABLES.people, bucketPartition(TENANT, bucket), personId))!;
  }

  it('a crash after the people write: the redelivered chunk writes the events once, under a key after any cursor read meanwhile, and again nothing new', async () => {
    tables.crashAt = 1; // the feed write after the person's
    const created = work(1, 'run-1', {});
    await expect(applyUserBucket(tables, created)).rejects.toThrow('the process died');
    expect(personFromRow(await personRow()).person.displayName).toBe('Adele Vance');
    expect(await feed.read(TENANT, { limit: 100 })).toEqual([]);
    const crashedKey = outboxOf(await personRow()).events[0]!.key;
    await new Promise((r) => setTimeout(r, 5));
    // A reader that has read everything up to now (its cursor is past the crashed change's time).
    const readerCursor = new Date().toISOString();

    await applyUserBucket(tables, created);
    await applyUserBucket(tables, created);
    const events = await feed.read(TENANT, { limit: 100 });
    expect(events.map((e) => [e.type, e.seq, e.id])).toEqual([['person.created', 1, `${personId}.1`]]);
    // Recovered under a new key, after the reader's cursor: it is not skipped.
    expect(events[0]!.key).not.toBe(crashedKey);
    expect(events[0]!.key > readerCursor).toBe(true);
    expect(outboxOf(await personRow()).events.map((e) => e.key)).toEqual([events[0]!.key]);
  });

  it('a crash, then another run changes the person before the redelivery: every change has its events, once, in order', async () => {
    // The previous outbox is in the feed (looked up, not written again): the feed's write after the person's.
    tables.crashAt = 1;
    const renamed = work(2, 'run-2', { jobTitle: 'CTO' });
    await expect(applyUserBucket(tables, renamed)).rejects.toThrow('the process died');
    expect(personFromRow(await personRow()).person.jobTitle).toBe('CTO');
    await applyUserBucket(tables, work(3, 'run-3', { jobTitle: 'CTO', department: 'Board' }));
    await applyUserBucket(tables, renamed);

    const events = await feed.read(TENANT, { limit: 100 });
    expect(events.map((e) => [e.type, e.seq])).toEqual([
      ['person.created', 1],
      ['person.updated', 2],
      ['person.updated', 3],
    ]);
    expect(events[1]!.data).toMatchObject({ changes: [{ key: 'jobTitle', to: 'CTO' }] });
    expect(events[2]!.data).toMatchObject({ changes: [{ key: 'department', to: 'Board' }] });
    const replayed = observe(
      undefined,
      events.map((e) => ({ type: e.type, ...e.data }) as unknown as PersonEvent),
    );
    expect(replayed).toEqual(viewOf(personFromRow(await personRow()).person));
  });

  it('a crash, then another run changes the person and no redelivery comes: the lost events go in under the later change’s time, after a cursor that passed their own', async () => {
    const userId = '7e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b';
    tables.crashAt = 1; // the feed write after the person's
    await expect(
      applyUserBucket(tables, oneUserWork({ userId, round: 6, runId: 'run-6', buckets: BUCKETS })),
    ).rejects.toThrow('the process died');
    await new Promise((r) => setTimeout(r, 5));
    const readerCursor = new Date().toISOString();

    await applyUserBucket(
      tables,
      oneUserWork({ userId, round: 7, runId: 'run-7', buckets: BUCKETS, facts: { jobTitle: 'CIO' } }),
    );
    const mine = (await feed.read(TENANT, { after: readerCursor, limit: 100 })).filter(
      (e) => e.subjectId === personIdFor(TENANT, userId),
    );
    expect(mine.map((e) => [e.type, e.seq, e.id])).toEqual([
      ['person.created', 1, `${personIdFor(TENANT, userId)}.1`],
      ['person.updated', 2, `${personIdFor(TENANT, userId)}.2`],
    ]);
  });

  it('a change over an outbox whose run completed writes the feed once: that run wrote its events already', async () => {
    // A person of its own (the tests above share theirs), created by run-4, which then completes.
    const userId = '5f0c8a3e-7b1d-4c2a-9e6f-1a2b3c4d5e6f';
    const runs = new RunStore(tables);
    const done = { tenantId: TENANT, runId: 'run-4', runKey: '0000000000004-run-4' };
    await runs.create(done, 'manual', false, new Date().toISOString());
    await applyUserBucket(tables, oneUserWork({ userId, round: 4, runId: 'run-4', buckets: BUCKETS }));
    await runs.transition(done, (row) => ({ ...row, state: 'completed' }));

    tables.feedWrites = 0;
    const renamed = oneUserWork({
      userId,
      round: 5,
      runId: 'run-5',
      buckets: BUCKETS,
      facts: { jobTitle: 'CFO' },
    });
    await applyUserBucket(tables, renamed);
    expect(tables.feedWrites).toBe(1);
    const mine = (await feed.read(TENANT, { limit: 100 })).filter(
      (e) => e.subjectId === personIdFor(TENANT, userId),
    );
    expect(mine.map((e) => [e.type, e.seq])).toEqual([
      ['person.created', 1],
      ['person.updated', 2],
    ]);
  });

  // A chunk given up between its people write and its feed write (a host dying there on every copy,
  // or a later write failing every time) leaves outboxes that no change of its run redoes, and its
  // people are unchanged from then on.
  it('a chunk given up between the people write and the feed write: the next round, full, puts the person.created into the feed, once', async () => {
    const userId = '8a9b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d';
    const runs = new RunStore(tables);
    const givenUp = { tenantId: TENANT, runId: 'run-8', runKey: '0000000000008-run-8' };
    await runs.create(givenUp, 'manual', false, new Date().toISOString());
    tables.crashAt = 1; // the feed write after the person's, on its last copy
    await expect(
      applyUserBucket(tables, oneUserWork({ userId, round: 8, runId: 'run-8', buckets: BUCKETS })),
    ).rejects.toThrow('the process died');
    await runs.transition(givenUp, (row) => ({ ...row, state: 'completed-with-errors' }));

    // The next round is full (a lost chunk asks for one): it describes the user as it is.
    await applyUserBucket(tables, oneUserWork({ userId, round: 9, runId: 'run-9', buckets: BUCKETS }));
    const mine = (await feed.read(TENANT, { limit: 1000 })).filter(
      (e) => e.subjectId === personIdFor(TENANT, userId),
    );
    expect(mine.map((e) => [e.type, e.seq])).toEqual([['person.created', 1]]);
    // Found there by the next full round: not written again.
    await applyUserBucket(tables, oneUserWork({ userId, round: 10, runId: 'run-10', buckets: BUCKETS }));
    expect((await feed.read(TENANT, { limit: 1000 })).filter((e) => e.id === mine[0]!.id)).toHaveLength(1);
  });
});
