/**
 * SYNC_BUCKETS decides in which partition each of a tenant's rows lives: a round under another value
 * than the tenant's first round would look for every person in the wrong partition and create them all
 * again. Such a round fails at once, saying why, and writes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { userBucketOf } from '../../src/domain/bucket.js';
import { personIdFor } from '../../src/domain/person-id.js';
import { fetchRound } from '../../src/usecases/fetch-round.js';
import { requestReproject } from '../../src/usecases/request-sync.js';
import { tenantErrorLog } from '../../src/usecases/tenant-errors.js';
import { type ApiCall, apiClient } from '../api/api-client.js';
import { waitFor } from './notification-probes.js';
import { PipelineUnderTest } from './pipeline-harness.js';
import { quiet, syncRequest } from './pipeline-probes.js';

describe('the bucket count a tenant was first synced with', () => {
  let pipeline: PipelineUnderTest;
  let api: ApiCall;

  beforeAll(async () => {
    pipeline = await PipelineUnderTest.start({
      standin: { users: 60, seed: 23 },
      settings: { SYNC_BUCKETS: '16' },
    });
    api = apiClient(() => pipeline.env.host().httpBaseUrl, pipeline.env.functionKey);
  }, 60_000);
  afterAll(async () => {
    await pipeline?.stop();
  });

  /** An enabled user whose partition under `other` buckets is not the one it lives in under 16. */
  function userMovedUnder(other: number) {
    const tenantId = pipeline.env.tenantId;
    return pipeline.control
      .snapshot()
      .users.find(
        (u) => u.accountEnabled && userBucketOf(tenantId, u.id, 16) !== userBucketOf(tenantId, u.id, other),
      )!;
  }

  async function restartHostWith(buckets: number): Promise<void> {
    await pipeline.env.host().stop();
    await pipeline.env.startHost({ SYNC_BUCKETS: String(buckets) });
  }

  it('a round under another SYNC_BUCKETS fails naming both counts, and leaves every table as it was', async () => {
    expect((await pipeline.sync('initial')).state).toBe('completed');
    const before = await pipeline.directory();
    await restartHostWith(32);
    const user = userMovedUnder(32);
    pipeline.control.rename(user.id, { displayName: 'Renamed Under 32 Buckets' });
    const run = await pipeline.sync();
    expect(run.state).toBe('failed');
    expect(run.failure).toMatch(/SYNC_BUCKETS is 32.*16/);
    expect(await pipeline.directory()).toEqual(before);
  }, 120_000);

  it('a re-projection under another SYNC_BUCKETS is refused on the tenant error log and starts no run', async () => {
    const before = await pipeline.directory();
    const lastRun = await pipeline.latestRunKey();
    await requestReproject(pipeline.deps(), pipeline.env.tenantId);
    const refusal = await waitFor('the refusal on the tenant error log', async () =>
      (await tenantErrorLog(pipeline.deps()).list(pipeline.env.tenantId)).find(
        (e) => e.category === 'configuration',
      ),
    );
    expect(refusal.message).toMatch(/SYNC_BUCKETS is 32.*16/);
    expect(await pipeline.latestRunKey()).toBe(lastRun);
    expect(await pipeline.directory()).toEqual(before);
  }, 120_000);

  it("the app's routes, and the admin's that write people, answer 409 naming both counts while SYNC_BUCKETS differs, and create nobody", async () => {
    const before = await pipeline.directory();
    const people = await api<{ error: string }>('GET', 'people');
    expect(people.status).toBe(409);
    expect(people.body.error).toMatch(/SYNC_BUCKETS is 32.*16/);
    const created = await api('POST', 'people', {
      displayName: 'Made By Hand',
      mail: 'made.by.hand@example.com',
    });
    expect(created.status).toBe(409);
    expect((await api('GET', 'teams')).status).toBe(409);
    const someone = personIdFor(pipeline.env.tenantId, pipeline.control.snapshot().users[0]!.id);
    expect((await api('GET', `people/${someone}/photo`)).status).toBe(409);
    // The admin's routes that write people: approving a held run, resolving a dispute.
    const tenant = `connections/${pipeline.env.tenantId}`;
    expect((await api('POST', `${tenant}/runs/no-such-run/approve`, {})).status).toBe(409);
    const dispute = await api('POST', `${tenant}/disputes/no-such-dispute`, { action: 'create' });
    expect(dispute.status).toBe(409);
    expect(await pipeline.directory()).toEqual(before);
  });

  it('back under the first count, the next round applies what the refused one read', async () => {
    await restartHostWith(16);
    expect((await pipeline.sync()).state).toBe('completed');
    expect(await pipeline.differences()).toEqual([]);
    expect((await api('GET', 'people')).status).toBe(200);
  }, 120_000);

  it('a chunk cut under the first count and taken by a host under another is refused, named on its run, and the next round is full and exact', async () => {
    const tenantId = pipeline.env.tenantId;
    const before = await pipeline.directory();
    // The admin changes SYNC_BUCKETS while a round's chunks wait in the queue.
    await pipeline.env.host().stop();
    pipeline.control.hire({ givenName: 'Hired', surname: 'While Its Chunk Waited' });
    const afterRunKey = await pipeline.latestRunKey();
    pipeline.recordRound(pipeline.control.snapshot());
    expect(
      (await fetchRound(pipeline.deps(), syncRequest(tenantId, { trigger: 'manual' }), quiet)).kind,
    ).toBe('completed');
    await pipeline.env.startHost({ SYNC_BUCKETS: '32' });
    const run = await pipeline.waitForNextRun(afterRunKey);
    expect(await pipeline.directory()).toEqual(before);
    expect(run.state).toBe('completed-with-errors');
    expect(run.errors.find((e) => e.category === 'configuration')?.message).toMatch(/SYNC_BUCKETS is 32.*16/);

    await restartHostWith(16);
    const next = await pipeline.sync();
    expect(next.state).toBe('completed');
    expect(next.full).toBe(true);
    expect(await pipeline.differences()).toEqual([]);
  }, 180_000);
});
