import { setTimeout as sleep } from 'node:timers/promises';

import { QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { encodeMessage } from '../../src/adapters/storage/queue-gateway.js';
import { QUEUES } from '../../src/adapters/storage/storage-names.js';
import { fetchRound } from '../../src/usecases/fetch-round.js';
import type { DirectoryChunk, SyncRequest } from '../../src/usecases/messages.js';
import type { PipelineDeps } from '../../src/usecases/pipeline-deps.js';
import { PipelineUnderTest } from './pipeline-harness.js';
import { interceptedSource, quiet } from './pipeline-probes.js';
import { mutateTenant } from './tenant-mutations.js';

class SimulatedCrash extends Error {}

/** The real Graph source, which "crashes" the fetcher before the page after `pages` pages. */
function crashingAfter(deps: PipelineDeps, pages: number): PipelineDeps {
  return interceptedSource(deps, (page) => {
    if (page > pages) throw new SimulatedCrash(`fetcher died after ${pages} pages`);
  });
}

describe('a fetch round stopped after k pages', () => {
  let pipeline: PipelineUnderTest;

  beforeAll(async () => {
    pipeline = await PipelineUnderTest.start({
      standin: { users: 1000, seed: 31 },
      settings: { SYNC_FLUSH_EVERY_PAGES: '1' },
      startHost: false,
    });
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  for (const [k, trigger, full] of [
    [1, 'initial', false],
    [3, 'manual', true],
    [6, 'manual', true],
  ] as const) {
    it(`resumes from its checkpoint after ${k} page(s) (${full ? 'full reconciliation' : trigger}), ends equal to the oracle, nobody duplicated`, async () => {
      if (pipeline.rounds.length > 0) {
        await pipeline.env.host().stop();
        mutateTenant(pipeline.control, 100 + k, 15);
      }
      const afterRunKey = await pipeline.latestRunKey();
      pipeline.rounds.push(pipeline.control.snapshot());
      const request: SyncRequest = {
        type: 'sync-request',
        tenantId: pipeline.env.tenantId,
        trigger,
        full,
        requestedAt: new Date().toISOString(),
      };
      await expect(fetchRound(crashingAfter(pipeline.deps(), k), request, quiet)).rejects.toThrow(
        SimulatedCrash,
      );

      const { cursor } = await pipeline.deps().syncState.readCursor(pipeline.env.tenantId);
      expect(cursor.round?.page).toBe(k);
      pipeline.control.resetCounters();
      const resumed = await fetchRound(pipeline.deps(), request, quiet);
      expect(resumed.kind).toBe('completed');
      const served = pipeline.control.counters().deltaPagesServed;
      const pagesInRound = cursor.round!.page + served.users + served.groups;
      expect(served.users + served.groups).toBe(pagesInRound - k);

      await pipeline.env.startHost();
      const run = await pipeline.waitForNextRun(afterRunKey);
      expect(run.state).toBe('completed');
      expect(run.full).toBe(trigger === 'initial' || full);
      expect(await pipeline.differences()).toEqual([]);
    });
  }
});

describe('throttling, bad data and poison messages', () => {
  let pipeline: PipelineUnderTest;

  beforeAll(async () => {
    pipeline = await PipelineUnderTest.start({ standin: { users: 800, seed: 41, deltaPageSize: 100 } });
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  it('30% of Graph requests answered 429 (with and without Retry-After): the run still ends equal to the oracle', async () => {
    pipeline.control.setFaults({
      seed: 5,
      rules: [
        { route: '/users/delta', kind: 'throttle', probability: 0.15, retryAfterSeconds: 0.2 },
        { route: '/users/delta', kind: 'throttleWithoutRetryAfter', probability: 0.15 },
        { route: '/groups/delta', kind: 'throttle', probability: 0.15, retryAfterSeconds: 0.2 },
        { route: '/groups/delta', kind: 'throttleWithoutRetryAfter', probability: 0.15 },
      ],
    });
    const run = await pipeline.sync('initial');
    const throttled = pipeline.control.counters().throttled;
    pipeline.control.clearFaults();
    expect(throttled).toBeGreaterThan(0);
    expect(run.state).toBe('completed');
    expect(await pipeline.differences()).toEqual([]);
  });

  it('a user that cannot be mapped is recorded as invalid-data and everything else is applied', async () => {
    const longName = 'L'.repeat(300);
    const hired = pipeline.control.hire({ displayName: longName, givenName: 'Long', surname: 'Name' });
    const victim = pipeline.control
      .snapshot()
      .users.find((u) => u.userType === 'Member' && u.accountEnabled === true && !u.softDeleted)!;
    pipeline.control.updateUser(victim.id, { mail: null, userPrincipalName: null });
    const renamed = pipeline.control
      .snapshot()
      .users.find((u) => u.id !== victim.id && u.userType === 'Member' && u.accountEnabled === true)!;
    pipeline.control.rename(renamed.id, { displayName: 'Renamed Despite Errors' });

    const run = await pipeline.sync('manual');
    expect(run.state).toBe('completed-with-errors');
    const invalid = run.errors.filter((e) => e.category === 'invalid-data');
    expect(invalid.map((e) => e.objectId).sort()).toEqual([hired.id, victim.id].sort());
    expect(invalid.find((e) => e.objectId === hired.id)?.message).toMatch(/displayName is 300 characters/);
    expect(invalid.find((e) => e.objectId === victim.id)?.message).toMatch(
      /neither mail nor userPrincipalName/,
    );
    expect(await pipeline.differences()).toEqual([]);
    expect((await pipeline.directory()).people.get(renamed.id)?.displayName).toBe('Renamed Despite Errors');
  });

  it('a message that always fails ends in the run errors through the poison queue, with the reason', async () => {
    const [latest] = await pipeline.deps().runs.list(pipeline.env.tenantId, 1);
    const ref = { tenantId: pipeline.env.tenantId, runId: String(latest!.runId), runKey: latest!.rowKey };
    const chunk: DirectoryChunk = {
      type: 'directory-chunk',
      ...ref,
      chunkIndex: 9999,
      partition: 'users:7',
      fresh: false,
      blobNames: ['chunks/never-written.json'],
    };
    await new QueueClient(pipeline.env.azurite.connectionString, QUEUES.directoryChanges).sendMessage(
      encodeMessage(chunk),
    );

    let poisoned: Record<string, unknown> | undefined;
    for (let i = 0; i < 120 && !poisoned; i += 1) {
      await sleep(500);
      const errors = await pipeline.deps().runs.listErrors(ref);
      poisoned = errors.find((e) => String(e.source) === 'poison:directory-changes:9999');
    }
    if (!poisoned) throw new Error('the poison message never reached the run errors');
    expect(poisoned.category).toBe('transient');
    expect(String(poisoned.message)).toMatch(/failed 5 time\(s\) and was moved to directory-changes-poison/);
    expect(String(poisoned.message)).toMatch(/BlobNotFound|does not exist|404/);
  });
});
