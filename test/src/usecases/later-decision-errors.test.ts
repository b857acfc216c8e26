/**
 * A chunk's outcome is decided once, before it writes (reconcile-message.ts): a redelivery reports the
 * counts decided the first time. But a later decision of the same chunk can find what the first could
 * not: here the app edits the person between a crashed delivery and its redelivery, under
 * `skip-conflicts`, so the redelivery skips the person with a conflict. That conflict must reach the
 * run's errors, or the run says `completed` over a person it did not update. Against Azurite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type EmbeddedAzurite, startAzurite } from '../../../local/azurite/embedded-azurite.js';
import { TABLES } from '../../../src/adapters/storage/storage-names.js';
import type { TableGateway } from '../../../src/adapters/storage/table-gateway.js';
import { apiDeps } from '../../../src/api-services.js';
import { AppServices } from '../../../src/app-services.js';
import { readAppSettings } from '../../../src/config/app-settings.js';
import { userBucketOf } from '../../../src/domain/bucket.js';
import { connectionSettingsSchema } from '../../../src/domain/connection-settings.js';
import type { DirectoryChange } from '../../../src/domain/directory.js';
import { encodeVersion } from '../../../src/domain/version.js';
import { editPerson } from '../../../src/usecases/manage-people.js';
import { directoryChangeSchema, type DirectoryChunk, type RunRef } from '../../../src/usecases/messages.js';
import type { PipelineDeps } from '../../../src/usecases/pipeline-deps.js';
import { reconcileMessage } from '../../../src/usecases/reconcile-message.js';
import { factsOf, PERSON_ID, TENANT, USER_ID } from '../domain/arbitraries.js';

class SimulatedCrash extends Error {}

const BUCKETS = 16;
const bucket = userBucketOf(TENANT, USER_ID, BUCKETS);

function chunk(ref: RunRef, round: number, jobTitle: string): DirectoryChunk {
  const change: DirectoryChange = {
    kind: 'user',
    id: USER_ID,
    version: encodeVersion({ round, page: 0, index: 0 }),
    facts: factsOf({ jobTitle }),
    manager: null,
  };
  return {
    type: 'directory-chunk',
    ...ref,
    chunkIndex: 0,
    partition: `users:${bucket}`,
    fresh: false,
    changes: [directoryChangeSchema.parse(change)],
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
    azurite = await startAzurite();
    app = new AppServices(
      readAppSettings({ AzureWebJobsStorage: azurite.connectionString, SYNC_BUCKETS: String(BUCKETS) }),
      {},
    );
    await app.provisionStorage();
    const connection = connectionSettingsSchema.parse({
      tenantId: TENANT,
      displayName: 'Contoso',
      credential: { kind: 'managed-identity' },
      policy: { mergeStrategy: 'skip-conflicts' },
    });
    await app.deps().connections.save(connection, null);
  });
  afterAll(async () => {
    await azurite?.stop();
  });

  it("that finds a merge conflict the first did not puts it on the run's errors and the chunk's error count", async () => {
    const deps: PipelineDeps = app.deps();
    const first: RunRef = { tenantId: TENANT, runId: 'run-1', runKey: 'key-1' };
    await reconcileMessage(deps, chunk(first, 1, 'Retail Manager'));

    // Round 2: Entra changes the job title; the first delivery decides `updated`, then its host dies.
    const second: RunRef = { tenantId: TENANT, runId: 'run-2', runKey: 'key-2' };
    const crashed = await reconcileMessage(
      { ...app.deps(), tables: crashingOnPeopleWrites(app.deps().tables) },
      chunk(second, 2, 'Store Director'),
    ).catch((error: unknown) => error);
    expect(crashed).toBeInstanceOf(SimulatedCrash);
    expect((await deps.runs.chunkReport(second, 0))?.counts).toEqual({ updated: 1 });

    // Meanwhile the app edits the same field; the redelivery meets a conflict and skips the person.
    const edited = await editPerson(
      apiDeps(app),
      TENANT,
      PERSON_ID,
      { fields: { jobTitle: 'Area Lead' } },
      undefined,
    );
    expect(edited.ok).toBe(true);
    const report = await reconcileMessage(app.deps(), chunk(second, 2, 'Store Director'));

    const person = await apiDeps(app).people.get(TENANT, PERSON_ID);
    expect(person?.person.jobTitle).toBe('Area Lead');
    const errors = await deps.runs.listErrors(second);
    expect(errors.map((e) => [e.category, e.objectId])).toEqual([['merge-conflict', USER_ID]]);
    expect(report.errors).toBe(1);
    expect((await deps.runs.chunkReport(second, 0))?.errors).toBe(1);
  });
});
