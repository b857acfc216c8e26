import { readFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { NODE_WORKER_ARGUMENTS, nodeWorkerArguments } from '../../src/config/node-worker.js';
import { PipelineUnderTest } from './pipeline-harness.js';
import { mutateTenant } from './tenant-mutations.js';

/**
 * The round's Graph requests on Graph routes (not the token endpoint, Key Vault or the control API,
 * nor the photo pass a full run asks for, which reads photos in `$batch` requests of its own).
 */
function graphRequests(counters: { requestsByRoute: Record<string, number> }): number {
  return Object.entries(counters.requestsByRoute)
    .filter(
      ([route]) =>
        !route.includes('oauth2') &&
        !route.includes('/secrets') &&
        !route.includes('_standin') &&
        !route.includes('photo') &&
        !route.includes('$batch'),
    )
    .reduce((sum, [, n]) => sum + n, 0);
}

describe('the pipeline on a generated 2,000-user tenant', () => {
  let pipeline: PipelineUnderTest;

  beforeAll(async () => {
    pipeline = await PipelineUnderTest.start({ standin: { users: 2000, seed: 11 } });
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  it('the host runs with the Node worker arguments its app settings give, as the Functions host starts its worker', () => {
    const commandLine = readFileSync(`/proc/${pipeline.env.host().pid}/cmdline`, 'utf8').split('\0');
    // Each argument of the setting (`--max-old-space-size=…`, `--max-semi-space-size=…`), as the host splits it.
    const expected = nodeWorkerArguments(NODE_WORKER_ARGUMENTS);
    expect(expected.length).toBeGreaterThan(1);
    for (const argument of expected) expect(commandLine).toContain(argument);
  });

  it('a full sync makes people (every mapped field, status, manager), teams and team members equal the oracle', async () => {
    const run = await pipeline.sync('initial');
    expect(run.state).toBe('completed');
    expect(run.trigger).toBe('initial');
    expect(run.full).toBe(true);
    expect(await pipeline.differences()).toEqual([]);
    const directory = await pipeline.directory();
    expect(directory.people.size).toBeGreaterThan(1800);
    expect(run.counts.created).toBe(directory.people.size);
    expect(directory.teamMembers.size).toBeGreaterThan(0);
  });

  it('after 50 random mutations, one round makes the tables equal the oracle again with at most the delta pages + 2 Graph requests', async () => {
    const done = mutateTenant(pipeline.control, 50, 50);
    expect(done.length).toBeGreaterThanOrEqual(45);
    pipeline.control.resetCounters();
    const run = await pipeline.sync('manual');
    expect(run.state).toBe('completed');
    expect(run.full).toBe(false);
    expect(await pipeline.differences()).toEqual([]);
    const counters = pipeline.control.counters();
    const pages = counters.deltaPagesServed.users + counters.deltaPagesServed.groups;
    expect(graphRequests(counters)).toBeLessThanOrEqual(pages + 2);
  });

  it('a round with no changes writes no entity', async () => {
    const run = await pipeline.sync('manual');
    expect(run.state).toBe('completed');
    expect(run.directoryWrites).toBe(0);
    expect(run.counts).toMatchObject({ created: 0, updated: 0, deactivated: 0, removed: 0, reactivated: 0 });
  });

  it('an expired delta token gives a full round that ends equal, recreating nobody', async () => {
    const before = await pipeline.directory();
    pipeline.control.setFaults({ delta: { tokenMaxAgeSeconds: 60, expiredTokenResponse: 'gone' } });
    pipeline.control.advanceClock(120_000);
    const hired = pipeline.control.hire({
      displayName: 'After Expiry',
      givenName: 'After',
      surname: 'Expiry',
    });
    const run = await pipeline.sync('manual');
    pipeline.control.clearFaults();
    expect(run.state).toBe('completed');
    expect(run.full).toBe(true);
    expect(run.counts.created).toBe(1);
    expect(await pipeline.differences()).toEqual([]);
    const after = await pipeline.directory();
    for (const [objectId, person] of before.people) {
      expect(after.people.get(objectId)?.personId).toBe(person.personId);
      expect(after.people.get(objectId)?.createdAt).toBe(person.createdAt);
    }
    expect(after.people.get(hired.id)?.status).toBe('created');
  });
});
