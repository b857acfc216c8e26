/**
 * Change notifications under load (Azurite + the stand-in + the local host): 10,000 notifications in
 * 10 s coalesce into a handful of delta rounds, every answer within Graph's 3 s; with 30% of the
 * stand-in's notifications dropped, the scheduled round still makes the directory equal the oracle.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { StoredSubscription } from '../../src/adapters/storage/subscription-store.js';
import { requestSync } from '../../src/usecases/request-sync.js';
import {
  changeNotification,
  clientStateOf,
  post,
  runsAfter,
  waitForQuiet,
  waitForSubscriptions,
  webhookUrl,
} from './notification-probes.js';
import { PipelineUnderTest } from './pipeline-harness.js';

/** Changes that keep every user in scope, so the oracle needs only the last snapshot. */
function changeSomeone(pipeline: PipelineUnderTest, i: number): void {
  const live = pipeline.control.snapshot().users.filter((u) => !u.softDeleted && u.userType === 'Member');
  const user = live[(i * 37) % live.length]!;
  switch (i % 3) {
    case 0:
      pipeline.control.rename(user.id, { displayName: `Load ${i}`, surname: `Load${i}` });
      break;
    case 1:
      pipeline.control.moveDepartment(user.id, `Department ${i}`);
      break;
    default:
      pipeline.control.changeMail(user.id, `load.${i}.${user.id.slice(0, 8)}@contoso.com`);
  }
}

describe('change notifications under load on a 300-user tenant', () => {
  let pipeline: PipelineUnderTest;
  let users: StoredSubscription;

  beforeAll(async () => {
    pipeline = await PipelineUnderTest.start({
      standin: { users: 300, seed: 23 },
      schedule: { kind: 'manual' },
      notifications: true,
    });
    users = (await waitForSubscriptions(pipeline)).find((r) => r.resource === 'users')!;
    expect((await pipeline.sync('initial')).state).toBe('completed');
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  it('10,000 notifications in 10 s (100 a POST) are each answered within 3 s and make a handful of delta rounds that leave the oracle directory', async () => {
    const before = await pipeline.latestRunKey();
    const state = clientStateOf(pipeline, users)!;
    const tenantId = pipeline.env.tenantId;
    const ids = pipeline.control.snapshot().users.map((u) => u.id);
    const started = Date.now();
    const answers: Promise<{ status: number; ms: number }>[] = [];
    for (let i = 0; i < 100; i += 1) {
      const wait = started + i * 100 - Date.now();
      if (wait > 0) await sleep(wait);
      if (i % 10 === 0) changeSomeone(pipeline, i);
      const value = Array.from({ length: 100 }, (_, k) =>
        changeNotification(users.subscriptionId, state, tenantId, ids[(i * 100 + k) % ids.length]),
      );
      answers.push(post(webhookUrl(pipeline), JSON.stringify({ value })));
    }
    const done = await Promise.all(answers);
    expect(done.every((a) => a.status === 202)).toBe(true);
    const maxMs = Math.max(...done.map((a) => a.ms));
    expect(maxMs).toBeLessThan(3_000);
    await waitForQuiet(pipeline);
    const rounds = (await runsAfter(pipeline, before)).filter((r) => r.trigger === 'notification');
    console.log(
      JSON.stringify({
        notifications: 10_000,
        posts: 100,
        deltaRounds: rounds.length,
        maxAnswerMs: Math.round(maxMs),
      }),
    );
    expect(rounds.length).toBeGreaterThanOrEqual(1);
    expect(rounds.length).toBeLessThanOrEqual(8);
    pipeline.rounds.push(pipeline.control.snapshot());
    expect(await pipeline.differences()).toEqual([]);
  });

  it('with 30% of the notifications dropped (fault plan), the next scheduled round makes the directory equal the oracle', async () => {
    pipeline.control.setFaults({ seed: 5, droppedNotificationRate: 0.3 });
    const deliveredBefore = pipeline.env.standin.subscriptions.deliveries().length;
    for (let i = 0; i < 30; i += 1) {
      changeSomeone(pipeline, 1_000 + i);
      await sleep(150);
    }
    await waitForQuiet(pipeline);
    const dropped = pipeline.env.standin.subscriptions
      .deliveries()
      .slice(deliveredBefore)
      .filter((d) => d.outcome === 'dropped').length;
    expect(dropped).toBeGreaterThan(0);
    pipeline.control.clearFaults();
    const afterRunKey = await pipeline.latestRunKey();
    pipeline.rounds.push(pipeline.control.snapshot());
    await requestSync(pipeline.deps(), pipeline.env.tenantId, 'schedule');
    const run = await pipeline.waitForNextRun(afterRunKey);
    expect(run.state).toBe('completed');
    expect(run.trigger).toBe('schedule');
    expect(await pipeline.differences()).toEqual([]);
  });
});
