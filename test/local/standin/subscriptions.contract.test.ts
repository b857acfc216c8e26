/**
 * Contract shapes of the subscription fixtures: what the stand-in answers and what it POSTs to apps has the
 * property names and nesting of Graph's documented examples (values differ: fixtures hold placeholders).
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Router } from '../../../local/standin/http/router.js';
import {
  registerSubscriptionRoutes,
  type SubscriptionService,
} from '../../../local/standin/subscriptions/index.js';
import { callRoute, expectShapeCovers, loadFixture, shapeOf } from './plugin-fixtures.js';

const ROLES = ['User.Read.All', 'GroupMember.Read.All'];
const posts: { url: string; contentType: string | undefined; body: string }[] = [];
let server: Server;
let receiverUrl: string;
let router: Router;
let service: SubscriptionService;
let emit: (id: string) => void = () => undefined;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      posts.push({
        url: req.url ?? '',
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks).toString(),
      });
      const token = new URL(req.url ?? '', 'http://x').searchParams.get('validationToken');
      if (token === null) res.writeHead(202).end();
      else res.writeHead(200, { 'content-type': 'text/plain' }).end(token);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  receiverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  router = new Router();
  service = registerSubscriptionRoutes(router, {
    tenantId: '84bd8158-6d4d-4958-8b9f-9d6445542f95',
    clientId: 'test-app',
    onChange: (listener) => {
      emit = (id) => listener({ resource: 'users', id, changeType: 'updated' });
    },
    timings: { coalesceMs: 10 },
  });
});

afterAll(async () => {
  service.stop();
  await new Promise((resolve) => server.close(resolve));
});

const future = () => new Date(Date.now() + 24 * 3_600_000).toISOString();

/** A fixture's request body, pointed at the local receiver and at `/users` (fixtures use mail resources). */
function adapted(name: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const body = loadFixture(name).request?.body as Record<string, unknown>;
  const lifecycle =
    'lifecycleNotificationUrl' in body ? { lifecycleNotificationUrl: `${receiverUrl}/lifecycle` } : {};
  return {
    ...body,
    notificationUrl: receiverUrl,
    ...lifecycle,
    resource: 'users',
    expirationDateTime: future(),
    ...overrides,
  };
}

async function createFrom(name: string): Promise<Record<string, unknown>> {
  const response = await callRoute(router, 'POST', '/subscriptions', { body: adapted(name), roles: ROLES });
  expect(response.status).toBe(201);
  return response.body as Record<string, unknown>;
}

function lastItem(kind: 'change' | 'lifecycle'): Record<string, unknown> {
  const bodies = posts
    .filter((p) => !p.url.includes('validationToken'))
    .map((p) => JSON.parse(p.body) as { value: Record<string, unknown>[] });
  const matching = bodies.filter((b) => (kind === 'lifecycle') === 'lifecycleEvent' in b.value[0]!);
  return matching.at(-1)!.value[0]!;
}

describe('subscription fixtures', () => {
  it('subscription.create.response.json: 201 with every property of the documented response', async () => {
    const fixture = loadFixture('subscription.create.response.json');
    const body = await createFrom('subscription.create.response.json');
    expect(fixture.response?.status).toBe(201);
    expectShapeCovers(body, fixture.response?.body);
  });

  it('subscription.create.webhooks-doc.request.json: the documented request with lifecycleNotificationUrl → 201', async () => {
    const body = await createFrom('subscription.create.webhooks-doc.request.json');
    expect(loadFixture('subscription.create.webhooks-doc.request.json').response?.status).toBe(201);
    expect(body.lifecycleNotificationUrl).toBe(`${receiverUrl}/lifecycle`);
    expect(body.changeType).toBe('created,updated');
  });

  it('subscription.update.response.json: PATCH with the documented body → 200 with every documented property', async () => {
    const fixture = loadFixture('subscription.update.response.json');
    const created = await createFrom('subscription.create.webhooks-doc.request.json');
    const response = await callRoute(router, 'PATCH', `/subscriptions/${String(created.id)}`, {
      body: { ...(fixture.request?.body as object), expirationDateTime: future() },
      roles: ROLES,
    });
    expect(response.status).toBe(fixture.response?.status);
    expectShapeCovers(response.body, fixture.response?.body);
  });

  it('subscription.reauthorize.request.json: POST /subscriptions/{id}/reauthorize with no body is accepted', async () => {
    const fixture = loadFixture('subscription.reauthorize.request.json');
    const created = await createFrom('subscription.create.response.json');
    const path = decodeURIComponent(new URL(fixture.request!.url).pathname)
      .replace('/v1.0', '')
      .replace('{id}', String(created.id));
    const response = await callRoute(router, fixture.request!.method, path, { roles: ROLES });
    expect(response.status).toBe(204);
  });

  it('notification.validation-request.json: the handshake is a POST with validationToken and the same Content-Type', async () => {
    const fixture = loadFixture('notification.validation-request.json');
    await createFrom('subscription.create.response.json');
    const validation = posts.filter((p) => p.url.includes('validationToken')).at(-1)!;
    expect(fixture.request?.method).toBe('POST');
    expect(validation.contentType).toBe(fixture.request?.headers?.['Content-Type']);
    expect([...new URL(validation.url, 'http://x').searchParams.keys()]).toEqual(['validationToken']);
    expect(fixture.response?.status).toBe(200);
  });

  it('notification.messages.created.json: a users notification has the same item keys and resourceData identity keys', async () => {
    const fixture = loadFixture('notification.messages.created.json');
    const documented = (fixture.request?.body as { value: Record<string, unknown>[] }).value[0]!;
    await createFrom('subscription.create.response.json');
    emit('user-1');
    await service.idle();
    const item = lastItem('change');
    expect(Object.keys(item).sort()).toEqual(Object.keys(documented).sort());
    const identity = ['@odata.type', '@odata.id', 'id'];
    expect(Object.keys(item.resourceData as object)).toEqual(expect.arrayContaining(identity));
    expect(shapeOf(item.resourceData)).toMatchObject(
      Object.fromEntries(identity.map((key) => [key, 'value'])),
    );
  });

  it.each(['missed', 'subscriptionRemoved'] as const)(
    '%s is never sent for a users or groups subscription (Graph sends it for Outlook and Teams only)',
    async (event) => {
      const created = await createFrom('subscription.create.webhooks-doc.request.json');
      await expect(service.triggerLifecycle(String(created.id), event)).rejects.toThrow(
        /only reauthorizationRequired/,
      );
      expect(service.list().map((s) => s.id)).toContain(created.id);
    },
  );

  it.each([
    ['lifecycle.reauthorization-required.json', 'reauthorizationRequired'],
    ['lifecycle.structure.json', 'reauthorizationRequired'],
  ] as const)('%s: the lifecycle item has exactly the documented keys', async (name, event) => {
    const fixture = loadFixture(name);
    const documented = (fixture.request?.body as { value: Record<string, unknown>[] }).value[0]!;
    const created = await createFrom('subscription.create.webhooks-doc.request.json');
    await service.triggerLifecycle(String(created.id), event);
    const item = lastItem('lifecycle');
    expect(Object.keys(item).sort()).toEqual(Object.keys(documented).sort());
    if (name !== 'lifecycle.structure.json') expect(item.lifecycleEvent).toBe(documented.lifecycleEvent);
    expect(fixture.response?.status).toBe(202);
  });
});
