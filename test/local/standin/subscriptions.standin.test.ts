/**
 * Subscriptions end to end: the real `@microsoft/microsoft-graph-client` (token from `@azure/identity`)
 * against the running stand-in, tenant changes through its control API, and a real local receiver.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { GraphError } from '@microsoft/microsoft-graph-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { type RunningStandin, startStandin } from '../../../local/standin/index.js';
import { graphClient } from './standin-test-clients.js';

interface Post {
  readonly path: string;
  readonly body: string;
}

let standin: RunningStandin;
let receiver: Server;
let baseUrl: string;
const posts: Post[] = [];
/** Answers for notification POSTs (validation is always echoed), consumed first to last; then 202. */
const scripted: number[] = [];

function reply(req: IncomingMessage, res: ServerResponse): void {
  const token = new URL(req.url ?? '', 'http://x').searchParams.get('validationToken');
  if (token !== null) {
    res.writeHead(200, { 'content-type': 'text/plain' }).end(token);
    return;
  }
  res.writeHead(scripted.shift() ?? 202).end();
}

beforeAll(async () => {
  standin = await startStandin({
    users: 20,
    seed: 7,
    subscriptionTimings: { coalesceMs: 30, retryBaseDelayMs: 20 },
  });
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      posts.push({ path: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
      reply(req, res);
    });
  });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  baseUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await standin?.stop();
  await new Promise((resolve) => receiver.close(resolve));
});

beforeEach(() => {
  posts.length = 0;
  scripted.length = 0;
  standin.control.clearFaults();
});

const notificationsTo = (path: string) =>
  posts
    .filter((post) => post.path === path)
    .map((post) => (JSON.parse(post.body) as { value: Record<string, unknown>[] }).value);

async function subscribe(path: string, extra: Record<string, unknown> = {}): Promise<{ id: string }> {
  return (await graphClient(standin)
    .api('/subscriptions')
    .post({
      changeType: 'updated,deleted',
      notificationUrl: `${baseUrl}${path}`,
      resource: '/users',
      expirationDateTime: new Date(Date.now() + 2 * 86_400_000).toISOString(),
      clientState: `state-for-${path}`,
      ...extra,
    })) as { id: string };
}

function someUserId(): string {
  return standin.control.snapshot().users.find((user) => !user.deleted)!.id;
}

describe('subscriptions through the Graph client', () => {
  it('creates a subscription after the handshake and notifies the receiver of a tenant change', async () => {
    const { id } = await subscribe('/hook-a');
    const userId = someUserId();

    standin.control.rename(userId, { displayName: 'Renamed Person' });
    await standin.subscriptions.idle();

    const items = notificationsTo('/hook-a').flat();
    expect(items).toEqual([
      expect.objectContaining({
        subscriptionId: id,
        clientState: 'state-for-/hook-a',
        changeType: 'updated',
        resource: `Users/${userId}`,
        tenantId: standin.tenantId,
        resourceData: expect.objectContaining({
          id: userId,
          '@odata.type': '#Microsoft.Graph.User',
        }) as unknown,
      }),
    ]);
    await graphClient(standin).api(`/subscriptions/${id}`).delete();
  });

  it('answers 400 ValidationError when the endpoint does not echo the token, and lists no such subscription', async () => {
    const silent = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/plain' }).end('wrong'),
    );
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/hook`;
    try {
      const error: unknown = await graphClient(standin)
        .api('/subscriptions')
        .post({
          changeType: 'updated',
          notificationUrl: url,
          resource: 'users',
          expirationDateTime: new Date(Date.now() + 3_600_000).toISOString(),
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GraphError);
      expect((error as GraphError).statusCode).toBe(400);
      expect((error as GraphError).code).toBe('ValidationError');
      const list = (await graphClient(standin).api('/subscriptions').get()) as {
        value: { notificationUrl: string }[];
      };
      expect(list.value.map((s) => s.notificationUrl)).not.toContain(url);
    } finally {
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('delivers the notification again when the receiver answers 500 once', async () => {
    const { id } = await subscribe('/hook-b');
    scripted.push(500);

    standin.control.moveDepartment(someUserId(), 'Retry Dept');
    await standin.subscriptions.idle();

    const batches = notificationsTo('/hook-b');
    expect(batches).toHaveLength(2);
    expect(batches[1]).toEqual(batches[0]);
    await graphClient(standin).api(`/subscriptions/${id}`).delete();
  });

  it("drops notifications when the fault plan's droppedNotificationRate is 1", async () => {
    const { id } = await subscribe('/hook-c');
    standin.control.setFaults({ droppedNotificationRate: 1 });

    standin.control.moveDepartment(someUserId(), 'Dropped Dept');
    await standin.subscriptions.idle();

    expect(notificationsTo('/hook-c')).toHaveLength(0);
    expect(
      standin.subscriptions
        .deliveries()
        .some((d) => d.outcome === 'dropped' && d.subscriptionIds.includes(id)),
    ).toBe(true);
    await graphClient(standin).api(`/subscriptions/${id}`).delete();
  });

  it('sends reauthorizationRequired to the lifecycleNotificationUrl when triggered over the control API', async () => {
    const { id } = await subscribe('/hook-d', { lifecycleNotificationUrl: `${baseUrl}/lifecycle-d` });

    const response = await fetch(`${standin.controlUrl}/subscriptions/${id}/lifecycle`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ event: 'reauthorizationRequired' }),
    });

    expect(response.ok).toBe(true);
    expect(notificationsTo('/lifecycle-d').flat()).toEqual([
      expect.objectContaining({ lifecycleEvent: 'reauthorizationRequired', subscriptionId: id }),
    ]);
    await graphClient(standin).api(`/subscriptions/${id}`).delete();
  });
});
