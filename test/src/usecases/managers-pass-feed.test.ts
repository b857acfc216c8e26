/**
 * The managers pass (link-managers.ts) runs once every chunk of its run is applied, and each of those
 * chunks put its events into the feed before it said so (but one given up, which reports an error). A
 * person the pass corrects was, in a first sync, just created by a chunk of the same run: writing that
 * person's `person.created` into the feed again (the carried outbox, event-outbox.ts) rewrites rows that
 * are there. Only an outbox the pass itself wrote, in an attempt that stopped before the feed's write,
 * is carried, and every outbox of a run with an erring chunk. Against Azurite.
 */
import type { TransactionAction } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { EmbeddedAzurite } from '../../../local/azurite/embedded-azurite.js';
import { personFromRow } from '../../../src/adapters/storage/directory-rows.js';
import { EventStore } from '../../../src/adapters/storage/event-store.js';
import { TABLES } from '../../../src/adapters/storage/storage-names.js';
import type { TableGateway } from '../../../src/adapters/storage/table-gateway.js';
import type { AppServices } from '../../../src/app-services.js';
import { partitionOf, userBucketOf } from '../../../src/domain/bucket.js';
import type { DirectoryChange } from '../../../src/domain/directory.js';
import { personIdFor } from '../../../src/domain/person-id.js';
import { encodeVersion } from '../../../src/domain/version.js';
import { directoryChangeSchema, type DirectoryChunk, type RunRef } from '../../../src/usecases/messages.js';
import { runManagers } from '../../../src/usecases/pass-gate.js';
import type { PipelineDeps } from '../../../src/usecases/pipeline-deps.js';
import { reconcileMessage } from '../../../src/usecases/reconcile-message.js';
import { factsOf, TENANT } from '../domain/arbitraries.js';
import { startAppOnAzurite } from './app-on-azurite.js';

const BUCKETS = 16;

/** A run's chunk that creates one user, whose manager Entra names (maybe a user the tenant lacks). */
function creating(
  ref: RunRef,
  userId: string,
  manager: string | null,
  round: number,
  accountEnabled = true,
): DirectoryChunk {
  const user: DirectoryChange = {
    kind: 'user',
    id: userId,
    version: encodeVersion({ round, page: 0, index: 0 }),
    facts: factsOf({
      displayName: `User ${userId.slice(0, 4)}`,
      mail: `${userId.slice(0, 8)}@contoso.com`,
      accountEnabled,
    }),
    manager,
  };
  return {
    type: 'directory-chunk',
    ...ref,
    chunkIndex: 0,
    partition: `users:${userBucketOf(TENANT, userId, BUCKETS)}`,
    fresh: false,
    changes: [directoryChangeSchema.parse(user)],
  };
}

/** A run whose chunks all reported without an error: each put its events into the feed first. */
const WHOLE = { inFeed: true };

const run = (runId: string): RunRef => ({ tenantId: TENANT, runId, runKey: `key-${runId}` });

class SimulatedCrash extends Error {}

/**
 * The real gateway, with the feed's writes seen: each written event's type is recorded, and with
 * `crashOn` the feed write of an event of that type fails (the host dying between the person's write
 * and the feed's).
 */
function watchingTheFeed(
  tables: TableGateway,
  crashOn?: 'person.created' | 'person.updated',
): { tables: TableGateway; written: string[] } {
  const written: string[] = [];
  const proxy = new Proxy(tables, {
    get(target, property, receiver) {
      if (property === 'transact') {
        return (table: string, actions: readonly TransactionAction[], ...rest: unknown[]) => {
          if (table === TABLES.events) {
            if (crashOn && actions.some(([, entity]) => entity.type === crashOn))
              return Promise.reject(new SimulatedCrash('host died'));
            for (const [, entity] of actions) written.push(String(entity.type));
          }
          return (target.transact as (...args: unknown[]) => Promise<unknown>).call(
            target,
            table,
            actions,
            ...rest,
          );
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { tables: proxy, written };
}

describe('the managers pass and the feed', () => {
  let azurite: EmbeddedAzurite;
  let app: AppServices;

  beforeAll(async () => {
    ({ azurite, app } = await startAppOnAzurite(BUCKETS));
  });
  afterAll(async () => {
    await azurite?.stop();
  });

  async function personOf(userId: string) {
    const personId = personIdFor(TENANT, userId);
    const row = await app.deps().tables.get(TABLES.people, partitionOf(TENANT, personId, BUCKETS), personId);
    return personFromRow(row!).person;
  }

  async function feedOf(userId: string): Promise<{ seq: number; type: string }[]> {
    const personId = personIdFor(TENANT, userId);
    const events = await new EventStore(app.deps().tables, BUCKETS).read(TENANT, { limit: 1000 });
    return events.filter((e) => e.subjectId === personId).map((e) => ({ seq: e.seq, type: e.type }));
  }

  /**
   * A run's chunk creates the user, whose manager the tenant lacks; the pass's first attempt unlinks it
   * and its host dies right after the person's write (before the feed's write, and so the index's).
   */
  async function createThenCrashFirstPass(ref: RunRef, userId: string, managerId: string, round: number) {
    await reconcileMessage(app.deps(), creating(ref, userId, managerId, round));
    const crashing = watchingTheFeed(app.deps().tables, 'person.updated');
    await expect(runManagers({ ...app.deps(), tables: crashing.tables }, ref, WHOLE)).rejects.toBeInstanceOf(
      SimulatedCrash,
    );
    expect(await personOf(userId)).toMatchObject({ managerId: null, managerProblem: 'manager-missing' });
  }

  it("writes into the feed only its own correction's events: the person.created its run's chunk wrote is there already", async () => {
    const userId = '3f1c2a9e-6b7d-4e21-9c3a-1d2e3f4a5b6c';
    const ref = run('run-created');
    // Entra names a manager the tenant does not hold: the chunk links it as named, the pass corrects it.
    await reconcileMessage(app.deps(), creating(ref, userId, 'b0000000-0000-4000-8000-00000000dead', 1));
    expect(await feedOf(userId)).toEqual([{ seq: 1, type: 'person.created' }]);

    const feed = watchingTheFeed(app.deps().tables);
    await runManagers({ ...app.deps(), tables: feed.tables } satisfies PipelineDeps, ref, WHOLE);

    expect(await personOf(userId)).toMatchObject({ managerId: null, managerProblem: 'manager-missing' });
    expect(feed.written).toEqual(['person.updated']);
    expect(await feedOf(userId)).toEqual([
      { seq: 1, type: 'person.created' },
      { seq: 2, type: 'person.updated' },
    ]);
  });

  it('looks its run’s outboxes up in the feed when a chunk of the run reported an error (one given up may have stopped before the feed), and writes none the feed holds', async () => {
    const userId = '5b3e4c9a-8d9f-4a43-9e5c-3f4a5b6c7d8e';
    const ref = run('run-with-errors');
    await reconcileMessage(app.deps(), creating(ref, userId, 'b0000000-0000-4000-8000-00000000beef', 4));

    const feed = watchingTheFeed(app.deps().tables);
    await runManagers({ ...app.deps(), tables: feed.tables }, ref, { inFeed: false });

    expect(feed.written).toEqual(['person.updated']);
    expect(await feedOf(userId)).toEqual([
      { seq: 1, type: 'person.created' },
      { seq: 2, type: 'person.updated' },
    ]);
  });

  it('an attempt of the pass that died between its people writes and its index write is completed by the next, even when the link it must make then is the one the stale index names', async () => {
    const userId = '6c4f5dab-9e0a-4b54-8f6d-4a5b6c7d8e9f';
    const managerId = 'd2000000-0000-4000-8000-000000000cab';
    const ref = run('run-stale-index');
    // The chunk links the manager as Entra names it (the index says so); the pass's first attempt
    // dies before the index's write.
    await createThenCrashFirstPass(ref, userId, managerId, 5);

    // The manager arrives, in the directory: the link is now the one the chunk made.
    await reconcileMessage(app.deps(), creating(run('run-manager-2'), managerId, null, 6));
    await runManagers(app.deps(), ref, WHOLE);

    expect(await personOf(userId)).toMatchObject({
      managerId: personIdFor(TENANT, managerId),
      managerProblem: null,
    });
    expect((await feedOf(userId)).map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it('carries into the feed the outbox an earlier attempt of the pass wrote and never put there', async () => {
    const userId = '4a2d3b8f-7c8e-4f32-8d4b-2e3f4a5b6c7d';
    const managerId = 'c1000000-0000-4000-8000-000000000bee';
    const ref = run('run-attempts');
    await createThenCrashFirstPass(ref, userId, managerId, 2);
    expect(await feedOf(userId)).toEqual([{ seq: 1, type: 'person.created' }]);

    // The manager arrives (another run), disabled: out of the directory, so the next attempt writes
    // another correction over the first one's outbox, which must reach the feed first.
    await reconcileMessage(app.deps(), creating(run('run-manager'), managerId, null, 3, false));
    await runManagers(app.deps(), ref, WHOLE);

    expect(await personOf(userId)).toMatchObject({ managerId: null, managerProblem: 'manager-out-of-scope' });
    // The first attempt's person.updated (managerId unlinked) is in the feed; the second changes no
    // field the app sees (managerId stays null), so it adds no event.
    expect(await feedOf(userId)).toEqual([
      { seq: 1, type: 'person.created' },
      { seq: 2, type: 'person.updated' },
    ]);
  });
});
