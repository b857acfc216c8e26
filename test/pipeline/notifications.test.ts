/**
 * Change notifications end to end (Azurite + the stand-in + the local host): subscriptions made,
 * renewed, recreated and deleted by the renewal timer; the webhook's handshake and its refusals; a
 * change in the stand-in reaching the people table through a notification, with no scheduled round.
 * Subscriptions live 30 s here (SYNC_SUBSCRIPTION_MINUTES 0.5), so renewal is seen within the test.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TABLES } from '../../src/adapters/storage/storage-names.js';
import type { StoredSubscription } from '../../src/adapters/storage/subscription-store.js';
import { personIdFor } from '../../src/domain/person-id.js';
import { apiClient } from '../api/api-client.js';
import {
  changeNotification,
  clientStateOf,
  pendingNotificationRequest,
  post,
  runsAfter,
  subscriptionStore,
  waitFor,
  waitForSubscriptions,
  webhookUrl,
} from './notification-probes.js';
import { PipelineUnderTest } from './pipeline-harness.js';

describe('change notifications on a 200-user tenant', () => {
  let pipeline: PipelineUnderTest;
  let rows: StoredSubscription[];
  const hostLog: string[] = [];

  const rowOf = (resource: 'users' | 'groups'): StoredSubscription =>
    rows.find((r) => r.resource === resource)!;
  const refresh = async (): Promise<StoredSubscription[]> =>
    (rows = await subscriptionStore(pipeline).list());
  const person = async (objectId: string) => (await pipeline.directory()).people.get(objectId);
  const someMember = (): string =>
    pipeline.control
      .snapshot()
      .users.find((u) => !u.softDeleted && u.userType === 'Member' && u.accountEnabled === true)!.id;

  beforeAll(async () => {
    pipeline = await PipelineUnderTest.start({
      standin: { users: 200, seed: 21, subscriptionTimings: { reauthorizationLeadMs: 2_000 } },
      schedule: { kind: 'manual' },
      notifications: true,
      settings: { SYNC_SUBSCRIPTION_MINUTES: '0.5' },
      onHostEvent: (event) => hostLog.push(JSON.stringify(event)),
    });
    rows = await waitForSubscriptions(pipeline);
    const run = await pipeline.sync('initial');
    expect(run.state).toBe('completed');
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  it('the renewal timer subscribes the connection to /users and /groups, each clientState 128 random characters kept only in Key Vault', async () => {
    const graph = pipeline.env.standin.subscriptions.list();
    expect(graph.map((s) => s.id).sort()).toEqual(rows.map((r) => r.subscriptionId).sort());
    for (const subscription of graph) {
      expect(subscription.changeType).toBe('updated,deleted');
      expect(subscription.notificationUrl).toBe(webhookUrl(pipeline));
      expect(subscription.lifecycleNotificationUrl).toBe(webhookUrl(pipeline, true));
    }
    const states = rows.map((row) => clientStateOf(pipeline, row)!);
    expect(new Set(states).size).toBe(2);
    for (const row of rows) {
      const state = clientStateOf(pipeline, row)!;
      expect(state).toMatch(/^[A-Za-z0-9_-]{128}$/);
      expect(graph.find((s) => s.id === row.subscriptionId)?.clientState).toBe(state);
    }
    const tableText = JSON.stringify(
      await pipeline.deps().tables.query(TABLES.subscriptions, "PartitionKey ne ''"),
    );
    const syncStateText = JSON.stringify(
      await pipeline.deps().tables.query(TABLES.syncState, "PartitionKey ne ''"),
    );
    for (const state of states) {
      expect(tableText).not.toContain(state);
      expect(syncStateText).not.toContain(state);
      expect(hostLog.some((line) => line.includes(state))).toBe(false);
    }
    const validations = pipeline.env.standin.subscriptions
      .deliveries()
      .filter((d) => d.kind === 'validation');
    expect(validations.length).toBeGreaterThanOrEqual(4);
    expect(validations.every((d) => d.outcome === 'delivered')).toBe(true);
  });

  it('answers the validation handshake with the decoded token as text/plain, and refuses a token too long to echo', async () => {
    const token = 'Validation: Testing <b>reachability</b> & "quotes" Request-Id: 42';
    for (const lifecycle of [false, true]) {
      const url = `${webhookUrl(pipeline, lifecycle)}?validationToken=${encodeURIComponent(token)}`;
      const answer = await post(url, '');
      expect(answer.status).toBe(200);
      expect(answer.contentType).toMatch(/^text\/plain/);
      expect(answer.text).toBe(token);
      const long = 'x'.repeat(5_000);
      const refused = await post(`${webhookUrl(pipeline, lifecycle)}?validationToken=${long}`, '');
      expect(refused.status).toBe(400);
      expect(refused.text).not.toContain(long);
    }
  });

  it('a user renamed in the stand-in is renamed in the people table through a notification within seconds, with no scheduled round', async () => {
    const before = await pipeline.latestRunKey();
    const id = someMember();
    expect((await person(id))?.status).toBe('created');
    const started = Date.now();
    pipeline.control.rename(id, { displayName: 'Notified Rename', surname: 'Rename' });
    await waitFor(
      'the rename applied',
      async () => (await person(id))?.displayName === 'Notified Rename',
      15_000,
    );
    const seconds = (Date.now() - started) / 1000;
    expect(seconds).toBeLessThan(5);
    const runs = await runsAfter(pipeline, before);
    expect(runs.length).toBeGreaterThanOrEqual(1);
    expect(runs.every((run) => run.trigger === 'notification')).toBe(true);
    await waitFor('the run completed', async () =>
      (await runsAfter(pipeline, before)).every((r) => r.state !== 'running'),
    );
    pipeline.rounds.push(pipeline.control.snapshot());
    expect(await pipeline.differences()).toEqual([]);
  });

  it('a user disabled in the stand-in leaves the directory through a notification round, with no scheduled round: removed while created, deactivated when active', async () => {
    const api = apiClient(() => pipeline.env.host().httpBaseUrl, pipeline.env.functionKey);
    const [created, active] = pipeline.control
      .snapshot()
      .users.filter((u) => !u.softDeleted && u.userType === 'Member' && u.accountEnabled === true)
      .slice(-2)
      .map((u) => u.id);
    expect((await person(created!))?.status).toBe('created');
    const activated = await api('PATCH', `people/${personIdFor(pipeline.env.tenantId, active!)}`, {
      status: 'active',
    });
    expect(activated.status, JSON.stringify(activated.body)).toBe(200);
    const before = await pipeline.latestRunKey();
    pipeline.control.disable(created!);
    pipeline.control.disable(active!);
    await waitFor(
      'both leavers applied',
      async () =>
        (await person(created!))?.status === 'removed' && (await person(active!))?.status === 'deactivated',
      20_000,
    );
    await waitFor('the runs completed', async () =>
      (await runsAfter(pipeline, before)).every((r) => r.state !== 'running'),
    );
    const runs = await runsAfter(pipeline, before);
    expect(runs.length).toBeGreaterThanOrEqual(1);
    expect(runs.every((run) => run.trigger === 'notification')).toBe(true);
    expect(runs.every((run) => run.state === 'completed')).toBe(true);
  });

  it('a forged clientState, another tenant, an unknown subscription, a malformed notification, an oversized and a malformed body: nothing enqueued, no row changed, each counted', async () => {
    const store = subscriptionStore(pipeline);
    const counted = await store.discarded();
    const directory = JSON.stringify([...(await pipeline.directory()).people]);
    const before = await pipeline.latestRunKey();
    const users = rowOf('users');
    const state = clientStateOf(pipeline, users)!;
    const tenantId = pipeline.env.tenantId;
    const body = (items: unknown[]): string => JSON.stringify({ value: items });
    const forged = randomBytes(96).toString('base64url');
    const answers = [
      await post(webhookUrl(pipeline), body([changeNotification(users.subscriptionId, forged, tenantId)])),
      await post(webhookUrl(pipeline), body([changeNotification(users.subscriptionId, state, randomUUID())])),
      await post(webhookUrl(pipeline), body([changeNotification(randomUUID(), state, tenantId)])),
      await post(webhookUrl(pipeline), body([{ subscriptionId: users.subscriptionId, clientState: state }])),
      await post(
        webhookUrl(pipeline),
        body(
          Array.from({ length: 2_000 }, () =>
            changeNotification(users.subscriptionId, state, tenantId, 'x'.repeat(600)),
          ),
        ),
      ),
      await post(webhookUrl(pipeline), '{"value": [ {"subscriptionId": '),
    ];
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202, 413, 400]);
    await sleep(1_500);
    expect(await pendingNotificationRequest(pipeline)).toBe(false);
    expect(await runsAfter(pipeline, before)).toEqual([]);
    expect(JSON.stringify([...(await pipeline.directory()).people])).toBe(directory);
    const now = await store.discarded();
    expect({
      'client-state-mismatch': now['client-state-mismatch'] - counted['client-state-mismatch'],
      'tenant-mismatch': now['tenant-mismatch'] - counted['tenant-mismatch'],
      'unknown-subscription': now['unknown-subscription'] - counted['unknown-subscription'],
      'malformed-notification': now['malformed-notification'] - counted['malformed-notification'],
      'oversized-body': now['oversized-body'] - counted['oversized-body'],
      'malformed-body': now['malformed-body'] - counted['malformed-body'],
    }).toEqual({
      'client-state-mismatch': 1,
      'tenant-mismatch': 1,
      'unknown-subscription': 1,
      'malformed-notification': 1,
      'oversized-body': 1,
      'malformed-body': 1,
    });
  });

  it('property: whatever the body (fast-check, 1,000 cases), the webhook answers without a 5xx and enqueues nothing without the clientState', async () => {
    const before = await pipeline.latestRunKey();
    const users = rowOf('users');
    const tenantId = pipeline.env.tenantId;
    const anyValue = fc.jsonValue({ maxDepth: 3 });
    const lookalike = fc.record(
      {
        subscriptionId: fc.oneof(fc.constant(users.subscriptionId), fc.uuid(), fc.string(), anyValue),
        clientState: fc.oneof(fc.string({ maxLength: 200 }), fc.constant(null), anyValue),
        tenantId: fc.oneof(fc.constant(tenantId), fc.uuid(), anyValue),
        changeType: fc.oneof(fc.constantFrom('updated', 'deleted'), fc.string()),
        resource: fc.oneof(fc.constant('Users/1'), fc.string()),
        lifecycleEvent: fc.oneof(
          fc.constantFrom('reauthorizationRequired', 'missed', 'subscriptionRemoved'),
          fc.string(),
        ),
      },
      { requiredKeys: [] },
    );
    const bodies = fc.oneof(
      fc.string({ maxLength: 300 }),
      anyValue.map((value) => JSON.stringify(value)),
      fc.array(fc.oneof(lookalike, anyValue), { maxLength: 20 }).map((value) => JSON.stringify({ value })),
      fc.array(lookalike, { maxLength: 5 }).map((value) => JSON.stringify({ value }).slice(0, -3)),
    );
    await fc.assert(
      fc.asyncProperty(bodies, fc.boolean(), async (body, lifecycle) => {
        const answer = await post(webhookUrl(pipeline, lifecycle), body);
        expect(answer.status).toBeLessThan(500);
        expect([202, 400, 413]).toContain(answer.status);
      }),
      { numRuns: 1_000 },
    );
    await sleep(1_000);
    expect(await pendingNotificationRequest(pipeline)).toBe(false);
    expect(await runsAfter(pipeline, before)).toEqual([]);
  });

  it('renews each subscription before it expires: past its first expiry on the stand-in clock it still exists and delivers', async () => {
    const first = await refresh();
    await waitFor(
      'both subscriptions renewed',
      async () => (await refresh()).every((r) => r.renewedAt !== ''),
      40_000,
    );
    const firstExpiry = Math.max(...first.map((r) => Date.parse(r.createdAt) + 30_000));
    const ahead = firstExpiry + 1_000 - Date.now();
    if (ahead > 0) pipeline.control.advanceClock(ahead);
    await sleep(1_500);
    const live = pipeline.env.standin.subscriptions.list().map((s) => s.id);
    for (const row of rows) expect(live).toContain(row.subscriptionId);
    const id = someMember();
    pipeline.control.rename(id, { displayName: 'Renewed Delivery', surname: 'Delivery' });
    await waitFor(
      'the rename applied',
      async () => (await person(id))?.displayName === 'Renewed Delivery',
      15_000,
    );
  });

  it('a reauthorizationRequired lifecycle notification is accepted (202) and answered by a renewal', async () => {
    const users = rowOf('users');
    const asked = new Date().toISOString();
    await pipeline.env.standin.subscriptions.triggerLifecycle(
      users.subscriptionId,
      'reauthorizationRequired',
    );
    const delivery = pipeline.env.standin.subscriptions
      .deliveries()
      .filter((d) => d.kind === 'lifecycle')
      .at(-1)!;
    expect(delivery).toMatchObject({ status: 202, outcome: 'delivered' });
    const flagged = (await subscriptionStore(pipeline).get(users.subscriptionId))!;
    expect(flagged.reauthorizationRequired || flagged.renewedAt > asked).toBe(true);
    await waitFor(
      'the renewal',
      async () => {
        const row = await subscriptionStore(pipeline).get(users.subscriptionId);
        return row !== undefined && !row.reauthorizationRequired && row.renewedAt > asked;
      },
      15_000,
    );
  });

  it('recreates a subscription Graph no longer knows (404) with a new clientState, and notifications flow through it', async () => {
    const old = (await refresh()).find((r) => r.resource === 'users')!;
    const oldState = clientStateOf(pipeline, old);
    expect(pipeline.env.standin.subscriptions.forget(old.subscriptionId)).toBe(true);
    const created = await waitFor(
      'a new users subscription',
      async () =>
        (await refresh()).find((r) => r.resource === 'users' && r.subscriptionId !== old.subscriptionId),
      40_000,
    );
    expect(pipeline.env.standin.subscriptions.list().map((s) => s.id)).toContain(created.subscriptionId);
    expect(pipeline.env.standin.secrets.get(old.clientStateSecret)).toBeUndefined();
    expect(clientStateOf(pipeline, created)).not.toBe(oldState);
    expect(await subscriptionStore(pipeline).get(old.subscriptionId)).toBeUndefined();
    const id = someMember();
    pipeline.control.moveDepartment(id, 'After Recreation');
    await waitFor(
      'the move applied',
      async () => (await person(id))?.department === 'After Recreation',
      15_000,
    );
  });

  it('disabling the connection deletes its subscriptions at Graph, their clientStates and their rows', async () => {
    const current = await refresh();
    const connection = (await pipeline.deps().connections.get(pipeline.env.tenantId))!;
    await pipeline.deps().connections.save({ ...connection.settings, enabled: false }, null);
    await waitFor(
      'no subscription left',
      async () => (await refresh()).length === 0 && pipeline.env.standin.subscriptions.list().length === 0,
      20_000,
    );
    for (const row of current)
      expect(pipeline.env.standin.secrets.get(row.clientStateSecret)).toBeUndefined();
  });
});
