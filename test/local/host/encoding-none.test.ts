import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type EmbeddedAzurite, startAzurite } from '../../../local/azurite/embedded-azurite.js';
import { type LocalHost, startLocalHost } from '../../../local/host/local-host.js';
import { queueClient, takeMessages } from './queue-test-helpers.js';

const root = fileURLToPath(new URL('./fixtures/plain-app', import.meta.url));

let azurite: EmbeddedAzurite;
let host: LocalHost;

beforeAll(async () => {
  azurite = await startAzurite();
  host = await startLocalHost({
    root,
    httpPort: 0,
    env: { AzureWebJobsStorage: azurite.connectionString },
    log: () => undefined,
  });
});

afterAll(async () => {
  await host?.stop();
  await azurite?.stop();
});

describe('local host, messageEncoding none (settings from local.settings.sample.json)', () => {
  it('passes a raw text message to the function and writes the (hook-amended) output message as raw text', async () => {
    const payload = { greeting: 'hej ö', list: [1, 2] };
    await queueClient(azurite.connectionString, 'plain-in').sendMessage(JSON.stringify(payload));
    const [raw] = await takeMessages(queueClient(azurite.connectionString, 'plain-out'), 1);
    expect(JSON.parse(raw!)).toEqual({ received: payload, postInvocationHook: true });
  });

  it('carries an HTTP function extraOutputs message through a second queue function', async () => {
    const response = await fetch(`${host.httpBaseUrl}/api/enqueue`, {
      method: 'POST',
      body: JSON.stringify({ from: 'http' }),
    });
    expect(response.status).toBe(202);
    const [raw] = await takeMessages(queueClient(azurite.connectionString, 'plain-out'), 1);
    expect(JSON.parse(raw!)).toEqual({ received: { from: 'http' }, postInvocationHook: true });
  });

  it('keeps settings already in the environment over local.settings values', () => {
    expect(process.env.AzureWebJobsStorage).toBe(azurite.connectionString);
    expect(process.env.PLAIN_OUT_QUEUE).toBe('plain-out');
  });
});
