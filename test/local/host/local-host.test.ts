import { fileURLToPath } from 'node:url';

import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type EmbeddedAzurite, startAzurite } from '../../../local/azurite/embedded-azurite.js';
import { type HostLogEntry, type LocalHost, startLocalHost } from '../../../local/host/local-host.js';
import { fromBase64, queueClient, takeMessages, toBase64 } from './queue-test-helpers.js';

const root = fileURLToPath(new URL('./fixtures/base64-app', import.meta.url));
const MASTER_KEY = 'local-host-test-master-key';

let azurite: EmbeddedAzurite;
let host: LocalHost;
const logs: HostLogEntry[] = [];

beforeAll(async () => {
  azurite = await startAzurite();
  host = await startLocalHost({
    root,
    httpPort: 0,
    env: {
      AzureWebJobsStorage: azurite.connectionString,
      ECHO_IN_QUEUE: 'echo-in',
      FUNCTIONS_MASTER_KEY: MASTER_KEY,
    },
    log: (entry) => logs.push(entry),
  });
});

afterAll(async () => {
  await host?.stop();
  await azurite?.stop();
});

describe('local host, base64 app (host.json: batchSize 4, newBatchThreshold 2, maxDequeueCount 3)', () => {
  it('registers every function of the app with its trigger type', () => {
    const triggers = Object.fromEntries(host.functions.map((f) => [f.name, f.triggerType]));
    expect(triggers).toEqual({
      adminOnly: 'httpTrigger',
      alwaysFails: 'queueTrigger',
      echo: 'queueTrigger',
      fanout: 'queueTrigger',
      items: 'httpTrigger',
      slowOnce: 'queueTrigger',
      slowWorker: 'queueTrigger',
      startupTimer: 'timerTrigger',
    });
  });

  it('creates each trigger queue and its poison queue at start', async () => {
    const names: string[] = [];
    for await (const item of QueueServiceClient.fromConnectionString(azurite.connectionString).listQueues()) {
      names.push(item.name);
    }
    expect(names).toEqual(expect.arrayContaining(['echo-in', 'echo-in-poison', 'doomed', 'doomed-poison']));
  });

  it('decodes a base64 message for the function and base64-encodes its output-binding message', async () => {
    const payload = { greeting: 'hello wörld', n: 7 };
    await queueClient(azurite.connectionString, 'echo-in').sendMessage(toBase64(JSON.stringify(payload)));
    const [raw] = await takeMessages(queueClient(azurite.connectionString, 'echo-out'), 1);
    expect(JSON.parse(fromBase64(raw!))).toEqual({ received: payload, dequeueCount: 1, hasMessageId: true });
  });

  it('passes non-JSON text through as a string', async () => {
    await queueClient(azurite.connectionString, 'echo-in').sendMessage(toBase64('just some text'));
    const [raw] = await takeMessages(queueClient(azurite.connectionString, 'echo-out'), 1);
    expect(JSON.parse(fromBase64(raw!))).toMatchObject({ received: 'just some text' });
  });

  it('sends one message per element of an extraOutputs array', async () => {
    await queueClient(azurite.connectionString, 'fanout-in').sendMessage(toBase64('go'));
    const texts = await takeMessages(queueClient(azurite.connectionString, 'fanout-out'), 3);
    expect(texts.map(fromBase64).sort()).toEqual(['plain text', '{"n":1}', '{"n":2}']);
  });

  it('invokes a failing function exactly maxDequeueCount times, then moves the intact message to <queue>-poison', async () => {
    const body = toBase64(JSON.stringify({ doomed: true, text: 'ünïcode' }));
    await queueClient(azurite.connectionString, 'doomed').sendMessage(body);
    const [poisoned] = await takeMessages(queueClient(azurite.connectionString, 'doomed-poison'), 1);
    expect(poisoned).toBe(body);
    const attempts = logs
      .filter((entry) => entry.functionName === 'alwaysFails' && entry.message.startsWith('attempt '))
      .map((entry) => entry.message);
    expect(attempts).toEqual(['attempt 1', 'attempt 2', 'attempt 3']);
    const properties = await queueClient(azurite.connectionString, 'doomed').getProperties();
    expect(properties.approximateMessagesCount).toBe(0);
  });

  it('never runs more than batchSize + newBatchThreshold invocations of a queue at once, and processes all', async () => {
    const queue = queueClient(azurite.connectionString, 'slow-work');
    const count = 24;
    await Promise.all(Array.from({ length: count }, (_, i) => queue.sendMessage(toBase64(String(i)))));
    const done = (await takeMessages(queueClient(azurite.connectionString, 'slow-done'), count)).map(
      (text) => JSON.parse(fromBase64(text)) as { message: number; concurrent: number },
    );
    expect(done.map((d) => d.message).sort((a, b) => a - b)).toEqual(
      Array.from({ length: count }, (_, i) => i),
    );
    const maxConcurrent = Math.max(...done.map((d) => d.concurrent));
    expect(maxConcurrent).toBeLessThanOrEqual(4 + 2);
    expect(maxConcurrent).toBeGreaterThan(1);
  });

  it('fires a runOnStartup timer once at start with isPastDue and scheduleStatus', async () => {
    const texts = await takeMessages(queueClient(azurite.connectionString, 'timer-fired'), 1);
    const timer = JSON.parse(fromBase64(texts[0]!)) as {
      isPastDue: boolean;
      scheduleStatus: { last: string; next: string; lastUpdated: string };
    };
    expect(timer.isPastDue).toBe(false);
    expect(timer.scheduleStatus.last).toBe('0001-01-01T00:00:00');
    expect(new Date(timer.scheduleStatus.next).toISOString()).toMatch(/-01-01T00:00:00\.000Z$/);
    expect(Number.isNaN(Date.parse(timer.scheduleStatus.lastUpdated))).toBe(false);
    const runs = logs.filter(
      (entry) =>
        entry.functionName === 'startupTimer' &&
        entry.message.startsWith("Executing 'Functions.startupTimer'"),
    );
    expect(runs).toHaveLength(1);
  });
});

describe('local host HTTP triggers', () => {
  const url = (path: string): string => `${host.httpBaseUrl}${path}`;

  it('answers 401 to an authLevel function route without a key, and 401 with a wrong key', async () => {
    expect((await fetch(url('/api/items/42'))).status).toBe(401);
    expect((await fetch(url('/api/items/42'), { headers: { 'x-functions-key': 'wrong' } })).status).toBe(401);
  });

  it('answers 200 with the function key in x-functions-key, with route params and query', async () => {
    const response = await fetch(url('/api/items/42?q=search'), {
      headers: { 'x-functions-key': host.keys.functionKey },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id: '42', q: 'search', body: null });
    expect(response.headers.get('set-cookie')).toBe('seen=yes; Path=/; HttpOnly');
  });

  it('answers 200 with the key in the code query parameter, and with the master key', async () => {
    expect((await fetch(url(`/api/items/1?code=${encodeURIComponent(host.keys.functionKey)}`))).status).toBe(
      200,
    );
    expect((await fetch(url('/api/items/1'), { headers: { 'x-functions-key': MASTER_KEY } })).status).toBe(
      200,
    );
  });

  it('takes the master key from FUNCTIONS_MASTER_KEY and generates a function key', () => {
    expect(host.keys.masterKey).toBe(MASTER_KEY);
    expect(host.keys.functionKey.length).toBeGreaterThanOrEqual(32);
  });

  it('hands a JSON body to the function (request.json())', async () => {
    const response = await fetch(url('/api/items/7'), {
      method: 'POST',
      headers: { 'x-functions-key': host.keys.functionKey, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Ada' }),
    });
    expect(await response.json()).toEqual({ id: '7', q: null, body: { name: 'Ada' } });
  });

  it('opens an admin route with the master key only', async () => {
    const withFunctionKey = await fetch(url('/api/admin-only'), {
      headers: { 'x-functions-key': host.keys.functionKey },
    });
    expect(withFunctionKey.status).toBe(401);
    const withMasterKey = await fetch(url('/api/admin-only'), { headers: { 'x-functions-key': MASTER_KEY } });
    expect(withMasterKey.status).toBe(200);
    expect(await withMasterKey.text()).toBe('admin');
  });

  it('answers 404 to unknown routes and to a route whose {id:int} constraint fails', async () => {
    const key = { 'x-functions-key': host.keys.functionKey };
    expect((await fetch(url('/api/nothing-here'), { headers: key })).status).toBe(404);
    expect((await fetch(url('/api/items/abc'), { headers: key })).status).toBe(404);
    expect((await fetch(url('/items/1'), { headers: key })).status).toBe(404);
  });

  it('answers 405 to a method the function does not accept', async () => {
    const response = await fetch(url('/api/items/1'), {
      method: 'DELETE',
      headers: { 'x-functions-key': host.keys.functionKey },
    });
    expect(response.status).toBe(405);
  });

  it('never logs a key', () => {
    const text = JSON.stringify(logs);
    expect(text).not.toContain(host.keys.functionKey);
    expect(text).not.toContain(MASTER_KEY);
  });
});
