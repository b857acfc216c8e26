/**
 * A chunk's outcome is decided once, before it writes (reconcile-message.ts): a redelivery reports the
 * counts decided the first time. But a later decision of the same chunk can find what the first could
 * not: here the app edits the person between a crashed delivery and its redelivery, under
 * `skip-conflicts`, so the redelivery skips the person with a conflict. That conflict must reach the
 * run's errors, or the run says `completed` over a person it did not update; in a message of one
 * bucket as in a packed one (each bucket's part decided once). Against Azurite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { EmbeddedAzurite } from '../../../local/azurite/embedded-azurite.js';
import { TABLES } from '../../../src/adapters/storage/storage-names.js';
import type { TableGateway } from '../../../src/adapters/storage/table-gateway.js';
import { apiDeps } from '../../../src/api-services.js';
import type { AppServices } from '../../../src/app-services.js';
import { userBucketOf } from '../../../src/domain/bucket.js';
import type { DirectoryChange } from '../../../src/domain/directory.js';
import { personIdFor } from '../../../src/domain/person-id.js';
import { encodeVersion } from '../../../src/domain/version.js';
import { editPerson } from '../../../src/usecases/manage-people.js';
import { directoryChangeSchema, type DirectoryChunk, type RunRef } from '../../../src/usecases/messages.js';
import type { PipelineDeps } from '../../../src/usecases/pipeline-deps.js';
import { reconcileMessage } from '../../../src/usecases/reconcile-message.js';
import { factsOf, TENANT, USER_ID } from '../domain/arbitraries.js';
import { startAppOnAzurite } from './app-on-azurite.js';

class SimulatedCrash extends Error {}

const BUCKETS = 16;

/** Users of two other buckets: the packed case's edited user, and the one whose change rides with it. */
const PACKED_USER_ID = '5c1e7f2a-0b7d-4c55-9f0e-3a6a2b1d9e11';
const OTHER_USER_ID = 'a2b4c6d8-1e3f-4a5b-8c7d-9e0f1a2b3c4d';

/**
 * Round `round`'s change of a user's job title: in a message of the user's bucket, or (`packed`) in a
 * message of two buckets, with a change of another user.
 */
function chunk(
  ref: RunRef,
  round: number,
  jobTitle: string,
  { userId = USER_ID, packed = false }: { userId?: string; packed?: boolean } = {},
): DirectoryChunk {
  const change = (id: string, index: number) => {
    const user: DirectoryChange = {
      kind: 'user',
      id,
      version: encodeVersion({ round, page: 0, index }),
      facts: factsOf({ jobTitle }),
      manager: null,
    };
    return directoryChangeSchema.parse(user);
  };
  const users = packed ? [userId, OTHER_USER_ID] : [userId];
  return {
    type: 'directory-chunk',
    ...ref,
    chunkIndex: 0,
    partition: `users:${users.map((id) => userBucketOf(TENANT, id, BUCKETS)).join('+')}`,
    fresh: false,
    changes: users.map((id, index) => change(id, index)),
  };
}

/** The real gateway, whose people writes fail (a host dying after the chunk decided, before it wrote). */
function crashingOnPeopleWrites(tables: TableGateway): TableGateway {
  return new Proxy(tables, {
    get(target, property, receiver) {
      if (property === 'transact') {
        return (table: string, ...rest: unknown[]) => {
          if (table === TABLES.people) return Promise.reject(new SimulatedCrash('host died'));
          return (target.transact as (...args: unknown[]) => Promise<unknown>).call(target, table, ...rest);
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('a later decision of a chunk', () => {
  let azurite: EmbeddedAzurite;
  let app: AppServices;

  beforeAll(async () => {
    ({ azurite, app } = await startAppOnAzurite(BUCKETS, { mergeStrategy: 'skip-conflicts' }));
  });
  afterAll(async () => {
    await azurite?.stop();
  });

  it.each([
    { message: 'of one bucket', userId: USER_ID, packed: false, runs: ['run-1', 'run-2'] },
    { message: 'of two buckets (packed)', userId: PACKED_USER_ID, packed: true, runs: ['run-3', 'run-4'] },
  ])(
    "that finds a merge conflict the first did not puts it on the run's errors and the chunk's error count: a message $message",
    async ({ userId, packed, runs: [firstRun, secondRun] }) => {
      expect(userBucketOf(TENANT, PACKED_USER_ID, BUCKETS)).not.toBe(
        userBucketOf(TENANT, OTHER_USER_ID, BUCKETS),
      );
      const deps: PipelineDeps = app.deps();
      const first: RunRef = { tenantId: TENANT, runId: firstRun!, runKey: `key-${firstRun}` };
      await reconcileMessage(deps, chunk(first, 1, 'Retail Manager', { userId, packed }));

      // Round 2: Entra changes the job title; the first delivery decides `updated`, then its host dies.
      const second: RunRef = { tenantId: TENANT, runId: secondRun!, runKey: `key-${secondRun}` };
      const crashed = await reconcileMessage(
        { ...app.deps(), tables: crashingOnPeopleWrites(app.deps().tables) },
        chunk(second, 2, 'Store Director', { userId, packed }),
      ).catch((error: unknown) => error);
      expect(crashed).toBeInstanceOf(SimulatedCrash);

      // Meanwhile the app edits the same field; the redelivery meets a conflict and skips the person.
      const personId = personIdFor(TENANT, userId);
      const edited = await editPerson(
        apiDeps(app),
        TENANT,
        personId,
        { fields: { jobTitle: 'Area Lead' } },
        undefined,
      );
      expect(edited.ok).toBe(true);
      const report = await reconcileMessage(
        app.deps(),
        chunk(second, 2, 'Store Director', { userId, packed }),
      );

      const person = await apiDeps(app).people.get(TENANT, personId);
      expect(person?.person.jobTitle).toBe('Area Lead');
      const errors = await deps.runs.listErrors(second);
      expect(errors.map((e) => [e.category, e.objectId])).toEqual([['merge-conflict', userId]]);
      expect(report.errors).toBe(1);
      const [stored] = await deps.runs.listChunks(second);
      expect(stored?.errors).toBe(1);
      // The counts are those the first delivery decided: every person of the message updated, once.
      expect(stored?.counts).toEqual({ updated: packed ? 2 : 1 });
    },
  );
});
