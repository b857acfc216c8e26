/**
 * The subscriptions plug-in through its route handlers (dispatched in-process by the stand-in's Router) and
 * real local HTTP receivers: handshake, Graph's validation rules, delivery, retries, drops and lifecycle.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import type { StandinRequest, StandinResponse } from '../../../local/standin/http/route-table.js';
import { Router } from '../../../local/standin/http/router.js';
import {
  registerSubscriptionRoutes,
  type SubscriptionDeps,
  type SubscriptionService,
  type TenantChange,
} from '../../../local/standin/subscriptions/index.js';

const TENANT_ID = '84bd8158-6d4d-4958-8b9f-9d6445542f95';
const APP_ID = '24d3b144-21ae-4080-943f-7067b395b913';
const ALL_ROLES = ['User.Read.All', 'GroupMember.Read.All'];

interface Received {
  readonly url: string;
  readonly contentType: string | undefined;
  readonly body: string;
}

type Reply = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** A real receiver on 127.0.0.1:0 that records every POST and answers with `reply`. */
async function startReceiver(reply: Reply = echoValidation(202)) {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ url: req.url ?? '', contentType: req.headers['content-type'], body });
      reply(req, res, body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  receivers.push(server);
  return {
    url: `http://127.0.0.1:${port}/api/notifications`,
    received,
    notifications: () => received.filter((r) => !r.url.includes('validationToken')),
  };
}

/** Answers validation like a correct app (200 text/plain, decoded token) and notifications with `status`. */
function echoValidation(status: number): Reply {
  return (req, res) => {
    const token = new URL(req.url ?? '', 'http://x').searchParams.get('validationToken');
    if (token !== null) {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(token);
      return;
    }
    res.writeHead(status).end();
  };
}

const receivers: Server[] = [];
const services: SubscriptionService[] = [];

afterEach(async () => {
  for (const service of services.splice(0)) service.stop();
  await Promise.all(receivers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

function setUp(overrides: Partial<SubscriptionDeps> = {}) {
  const router = new Router();
  const listeners: ((change: TenantChange) => void)[] = [];
  const service = registerSubscriptionRoutes(router, {
    tenantId: TENANT_ID,
    clientId: APP_ID,
    onChange: (listener) => listeners.push(listener),
    timings: { coalesceMs: 20, retryBaseDelayMs: 20, deliveryTimeoutMs: 2_000, validationTimeoutMs: 2_000 },
    ...overrides,
  });
  services.push(service);
  async function call(
    method: string,
    path: string,
    body?: unknown,
    roles = ALL_ROLES,
  ): Promise<StandinResponse> {
    const match = router.match(method, path);
    if (match.kind !== 'found') throw new Error(`no route for ${method} ${path}`);
    const anyOf = match.route.options.anyOfRoles;
    if (anyOf && !anyOf.some((role) => roles.includes(role))) return { status: 403 };
    const req: StandinRequest = {
      method,
      path,
      query: new URLSearchParams(),
      headers: { 'content-type': 'application/json' },
      body,
      rawBody: Buffer.from(body === undefined ? '' : JSON.stringify(body)),
      baseUrl: 'https://127.0.0.1:4443/v1.0',
      token: { appId: APP_ID, tenantId: TENANT_ID, roles },
    };
    return match.route.handler(req, match.params);
  }
  const emit = (change: TenantChange) => listeners.forEach((listener) => listener(change));
  return { service, call, emit };
}

const inMinutes = (minutes: number, from = Date.now()) => new Date(from + minutes * 60_000).toISOString();

function subscriptionRequest(notificationUrl: string, extra: Record<string, unknown> = {}) {
  return {
    changeType: 'updated,deleted',
    notificationUrl,
    resource: '/users',
    expirationDateTime: inMinutes(24 * 60),
    clientState: 'client-state-1',
    ...extra,
  };
}

function bodyOf(response: StandinResponse): Record<string, unknown> {
  return response.body as Record<string, unknown>;
}

function errorCode(response: StandinResponse): string | undefined {
  return (response.body as { error?: { code?: string } } | undefined)?.error?.code;
}

describe('subscription handshake', () => {
  it('creates the subscription (201) after the endpoint echoes the validation token as text/plain', async () => {
    const receiver = await startReceiver();
    const { call, service } = setUp();

    const response = await call('POST', '/subscriptions', subscriptionRequest(receiver.url));

    expect(response.status).toBe(201);
    expect(bodyOf(response)).toMatchObject({
      resource: '/users',
      changeType: 'updated,deleted',
      applicationId: APP_ID,
    });
    expect(service.list()).toHaveLength(1);
    const validation = receiver.received[0]!;
    expect(validation.contentType).toBe('text/plain; charset=utf-8');
    expect(new URL(validation.url, 'http://x').searchParams.get('validationToken')).toMatch(/^Validation: /);
  });

  it('refuses (400 ValidationError) and keeps no subscription when the endpoint does not echo the token', async () => {
    const receiver = await startReceiver((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/plain' }).end('nope'),
    );
    const { call, service } = setUp();

    const response = await call('POST', '/subscriptions', subscriptionRequest(receiver.url));

    expect(response.status).toBe(400);
    expect(errorCode(response)).toBe('ValidationError');
    expect(service.list()).toHaveLength(0);
  });

  it('refuses when the endpoint answers the validation with an error status', async () => {
    const receiver = await startReceiver((_req, res) => res.writeHead(404).end());
    const { call, service } = setUp();

    const response = await call('POST', '/subscriptions', subscriptionRequest(receiver.url));

    expect(response.status).toBe(400);
    expect(errorCode(response)).toBe('ValidationError');
    expect(service.list()).toHaveLength(0);
  });

  it('refuses (400) when the endpoint never answers within the validation timeout', async () => {
    const receiver = await startReceiver(() => undefined);
    const { call, service } = setUp({ timings: { validationTimeoutMs: 200 } });

    const response = await call('POST', '/subscriptions', subscriptionRequest(receiver.url));

    expect(response.status).toBe(400);
    expect(bodyOf(response)).toMatchObject({
      error: { message: 'Subscription validation request timed out.' },
    });
    expect(service.list()).toHaveLength(0);
  });

  it('validates the lifecycleNotificationUrl too', async () => {
    const good = await startReceiver();
    const bad = await startReceiver((_req, res) => res.writeHead(500).end());
    const { call, service } = setUp();

    const response = await call(
      'POST',
      '/subscriptions',
      subscriptionRequest(good.url, { lifecycleNotificationUrl: bad.url }),
    );

    expect(response.status).toBe(400);
    expect(bad.received).toHaveLength(1);
    expect(service.list()).toHaveLength(0);
  });
});

describe('subscription rules Graph enforces', () => {
  it('refuses an expiration more than 41,760 minutes ahead, and accepts exactly 41,760', async () => {
    const receiver = await startReceiver();
    const now = Date.now();
    const { call } = setUp({ now: () => now });

    const tooFar = await call(
      'POST',
      '/subscriptions',
      subscriptionRequest(receiver.url, { expirationDateTime: inMinutes(41_761, now) }),
    );
    const atLimit = await call(
      'POST',
      '/subscriptions',
      subscriptionRequest(receiver.url, { expirationDateTime: inMinutes(41_760, now) }),
    );

    expect(tooFar.status).toBe(400);
    expect(atLimit.status).toBe(201);
  });

  it('refuses an expiration in the past', async () => {
    const receiver = await startReceiver();
    const { call } = setUp();
    const response = await call(
      'POST',
      '/subscriptions',
      subscriptionRequest(receiver.url, { expirationDateTime: inMinutes(-1) }),
    );
    expect(response.status).toBe(400);
  });

  it('refuses a clientState of 129 characters and accepts 128', async () => {
    const receiver = await startReceiver();
    const { call } = setUp();

    const tooLong = await call(
      'POST',
      '/subscriptions',
      subscriptionRequest(receiver.url, { clientState: 'x'.repeat(129) }),
    );
    const atLimit = await call(
      'POST',
      '/subscriptions',
      subscriptionRequest(receiver.url, { clientState: 'x'.repeat(128) }),
    );

    expect(tooLong.status).toBe(400);
    expect(atLimit.status).toBe(201);
  });

  it('refuses http:// endpoints that are not loopback, and resources other than users and groups', async () => {
    const { call } = setUp();

    const http = await call('POST', '/subscriptions', subscriptionRequest('http://example.com/hook'));
    const mail = await call(
      'POST',
      '/subscriptions',
      subscriptionRequest('https://example.com/hook', { resource: 'me/messages' }),
    );
    const badType = await call(
      'POST',
      '/subscriptions',
      subscriptionRequest('https://example.com/hook', { changeType: 'renamed' }),
    );

    expect([http.status, mail.status, badType.status]).toEqual([400, 400, 400]);
  });

  it('answers 403 without User.Read.All for users, and without GroupMember.Read.All/Group.Read.All for groups', async () => {
    const receiver = await startReceiver();
    const { call } = setUp();

    const users = await call('POST', '/subscriptions', subscriptionRequest(receiver.url), [
      'GroupMember.Read.All',
    ]);
    const groups = await call(
      'POST',
      '/subscriptions',
      subscriptionRequest(receiver.url, { resource: 'groups' }),
      ['User.Read.All'],
    );
    const groupsOk = await call(
      'POST',
      '/subscriptions',
      subscriptionRequest(receiver.url, { resource: 'groups' }),
      ['Group.Read.All'],
    );

    expect(users.status).toBe(403);
    expect(errorCode(users)).toBe('Authorization_RequestDenied');
    expect(groups.status).toBe(403);
    expect(groupsOk.status).toBe(201);
  });
});

describe('subscription management', () => {
  it('lists, reads, renews (PATCH 200), reauthorizes (204) and deletes (204, then 404)', async () => {
    const receiver = await startReceiver();
    const { call } = setUp();
    const created = bodyOf(await call('POST', '/subscriptions', subscriptionRequest(receiver.url)));
    const id = String(created.id);

    const list = bodyOf(await call('GET', '/subscriptions'));
    const renewedAt = inMinutes(2 * 24 * 60);
    const patched = await call('PATCH', `/subscriptions/${id}`, { expirationDateTime: renewedAt });
    const reauthorized = await call('POST', `/subscriptions/${id}/reauthorize`);
    const deleted = await call('DELETE', `/subscriptions/${id}`);
    const after = await call('GET', `/subscriptions/${id}`);

    expect((list.value as unknown[]).length).toBe(1);
    expect(patched.status).toBe(200);
    expect(Date.parse(String(bodyOf(patched).expirationDateTime))).toBe(Date.parse(renewedAt));
    expect(reauthorized.status).toBe(204);
    expect(deleted.status).toBe(204);
    expect(after.status).toBe(404);
  });

  it('validates a new notificationUrl on PATCH and keeps the old one when validation fails', async () => {
    const first = await startReceiver();
    const broken = await startReceiver((_req, res) => res.writeHead(500).end());
    const { call, service } = setUp();
    const id = String(bodyOf(await call('POST', '/subscriptions', subscriptionRequest(first.url))).id);

    const response = await call('PATCH', `/subscriptions/${id}`, { notificationUrl: broken.url });

    expect(response.status).toBe(400);
    expect(service.list()[0]?.notificationUrl).toBe(first.url);
  });
});

describe('change notification delivery', () => {
  it("POSTs Graph's notification shape with the subscription's clientState and the changed user", async () => {
    const receiver = await startReceiver();
    const { call, service, emit } = setUp();
    const id = String(bodyOf(await call('POST', '/subscriptions', subscriptionRequest(receiver.url))).id);

    emit({ resource: 'users', id: 'user-1', changeType: 'updated' });
    await service.idle();

    const posts = receiver.notifications();
    expect(posts).toHaveLength(1);
    expect(posts[0]!.contentType).toMatch(/^application\/json/);
    const { value } = JSON.parse(posts[0]!.body) as { value: Record<string, unknown>[] };
    expect(value).toEqual([
      {
        id: expect.any(String) as unknown,
        subscriptionId: id,
        subscriptionExpirationDateTime: expect.any(String) as unknown,
        clientState: 'client-state-1',
        changeType: 'updated',
        resource: 'Users/user-1',
        tenantId: TENANT_ID,
        resourceData: {
          '@odata.type': '#Microsoft.Graph.User',
          '@odata.id': 'Users/user-1',
          id: 'user-1',
          organizationId: TENANT_ID,
        },
      },
    ]);
  });

  it('sends changes that come together in one POST, and maps Graph change types (created → updated, soft delete → updated)', async () => {
    const receiver = await startReceiver();
    const { call, service, emit } = setUp();
    await call('POST', '/subscriptions', subscriptionRequest(receiver.url));

    emit({ resource: 'users', id: 'hired', changeType: 'created' });
    emit({ resource: 'users', id: 'soft', changeType: 'deleted', permanent: false });
    emit({ resource: 'users', id: 'hard', changeType: 'deleted', permanent: true });
    emit({ resource: 'groups', id: 'a-group', changeType: 'updated' });
    await service.idle();

    const posts = receiver.notifications();
    expect(posts).toHaveLength(1);
    const { value } = JSON.parse(posts[0]!.body) as { value: { resource: string; changeType: string }[] };
    expect(value.map((n) => [n.resource, n.changeType])).toEqual([
      ['Users/hired', 'updated'],
      ['Users/soft', 'updated'],
      ['Users/hard', 'deleted'],
    ]);
  });

  it('does not send a change type the subscription did not ask for', async () => {
    const receiver = await startReceiver();
    const { call, service, emit } = setUp();
    await call(
      'POST',
      '/subscriptions',
      subscriptionRequest(receiver.url, { changeType: 'deleted', resource: 'groups' }),
    );

    emit({ resource: 'groups', id: 'g1', changeType: 'updated' });
    emit({ resource: 'groups', id: 'g2', changeType: 'deleted' });
    await service.idle();

    const { value } = JSON.parse(receiver.notifications()[0]!.body) as { value: { resource: string }[] };
    expect(value.map((n) => n.resource)).toEqual(['Groups/g2']);
  });

  it('delivers again when the endpoint answers 500 once', async () => {
    let failures = 1;
    const receiver = await startReceiver((req, res) => {
      if (req.url?.includes('validationToken')) return echoValidation(202)(req, res, '');
      res.writeHead(failures-- > 0 ? 500 : 202).end();
    });
    const { call, service, emit } = setUp();
    await call('POST', '/subscriptions', subscriptionRequest(receiver.url));

    emit({ resource: 'users', id: 'user-1', changeType: 'updated' });
    await service.idle();

    expect(receiver.notifications()).toHaveLength(2);
    expect(receiver.notifications()[1]!.body).toBe(receiver.notifications()[0]!.body);
    const change = service.deliveries().filter((d) => d.kind === 'change');
    expect(change).toEqual([expect.objectContaining({ status: 202, attempts: 2, outcome: 'delivered' })]);
  });

  it('gives up after the configured attempts when the endpoint keeps failing', async () => {
    const receiver = await startReceiver(echoValidation(503));
    const { call, service, emit } = setUp({ timings: { maxAttempts: 3, retryBaseDelayMs: 10 } });
    await call('POST', '/subscriptions', subscriptionRequest(receiver.url));

    emit({ resource: 'users', id: 'user-1', changeType: 'updated' });
    await service.idle();

    expect(receiver.notifications()).toHaveLength(3);
    expect(service.deliveries().filter((d) => d.kind === 'change')).toEqual([
      expect.objectContaining({ status: 503, attempts: 3, outcome: 'failed' }),
    ]);
  });

  it('drops notifications at the fault plan rate (1 → none arrive, all logged as dropped)', async () => {
    const receiver = await startReceiver();
    const { call, service, emit } = setUp({ droppedNotificationRate: () => 1 });
    await call('POST', '/subscriptions', subscriptionRequest(receiver.url));

    emit({ resource: 'users', id: 'user-1', changeType: 'updated' });
    emit({ resource: 'users', id: 'user-2', changeType: 'updated' });
    await service.idle();

    expect(receiver.notifications()).toHaveLength(0);
    expect(service.deliveries().filter((d) => d.outcome === 'dropped')).toHaveLength(2);
  });
});

describe('lifecycle notifications', () => {
  it('triggers reauthorizationRequired to the lifecycleNotificationUrl on demand, in Graph’s shape', async () => {
    const hook = await startReceiver();
    const lifecycle = await startReceiver();
    const { call, service } = setUp();
    const id = String(
      bodyOf(
        await call(
          'POST',
          '/subscriptions',
          subscriptionRequest(hook.url, { lifecycleNotificationUrl: lifecycle.url }),
        ),
      ).id,
    );

    await service.triggerLifecycle(id, 'reauthorizationRequired');

    const posts = lifecycle.notifications();
    expect(posts).toHaveLength(1);
    const { value } = JSON.parse(posts[0]!.body) as { value: Record<string, unknown>[] };
    expect(value).toEqual([
      {
        lifecycleEvent: 'reauthorizationRequired',
        subscriptionId: id,
        subscriptionExpirationDateTime: expect.stringMatching(/\+00:00$/) as unknown,
        clientState: 'client-state-1',
        tenantId: TENANT_ID,
      },
    ]);
    expect(hook.notifications()).toHaveLength(0);
  });

  it('sends reauthorizationRequired once within the lead time, then drops the subscription at expiry without a lifecycle event (Graph for users and groups)', async () => {
    const hook = await startReceiver();
    const lifecycle = await startReceiver();
    let now = Date.now();
    const { call, service } = setUp({
      now: () => now,
      timings: { reauthorizationLeadMs: 60 * 60_000, lifecycleSweepMs: 10 },
    });
    await call(
      'POST',
      '/subscriptions',
      subscriptionRequest(hook.url, {
        lifecycleNotificationUrl: lifecycle.url,
        expirationDateTime: inMinutes(90, now),
      }),
    );

    now += 31 * 60_000;
    await waitFor(() => lifecycle.notifications().length >= 1);
    now += 60 * 60_000;
    await waitFor(() => service.list().length === 0);
    await service.idle();

    const events = lifecycle
      .notifications()
      .map(
        (post) => (JSON.parse(post.body) as { value: { lifecycleEvent: string }[] }).value[0]!.lifecycleEvent,
      );
    expect(events).toEqual(['reauthorizationRequired']);
    expect(service.list()).toHaveLength(0);
  });
});

/** Polls a condition driven by the stand-in's own timers (no assertion on elapsed time). */
async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}
