import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type EmbeddedAzurite, startAzurite } from '../../../local/azurite/embedded-azurite.js';
import { type HostLogEntry, type LocalHost, startLocalHost } from '../../../local/host/local-host.js';
import { poisonQueueNameFor } from '../../../local/host/queue-listener.js';
import { queueClient, toBase64, waitFor } from './queue-test-helpers.js';

const root = fileURLToPath(new URL('./fixtures/poison-app', import.meta.url));

let azurite: EmbeddedAzurite;
let host: LocalHost;
const logs: HostLogEntry[] = [];

async function queueNames(): Promise<string[]> {
  const names: string[] = [];
  for await (const item of QueueServiceClient.fromConnectionString(azurite.connectionString).listQueues()) {
    names.push(item.name);
  }
  return names;
}

beforeAll(async () => {
  azurite = await startAzurite();
  host = await startLocalHost({
    root,
    httpPort: 0,
    env: { AzureWebJobsStorage: azurite.connectionString },
    log: (entry) => logs.push(entry),
  });
});

afterAll(async () => {
  await host?.stop();
  await azurite?.stop();
});

// The Functions host's queue extension gives a queue whose name ends with `-poison` no poison queue
// (QueueListenerFactory.CreatePoisonQueueReference); a failed message there is left invisible
// (QueueProcessor.CompleteProcessingMessageAsync), an undecodable one is left in place.
describe('local host, a trigger on a poison queue (maxDequeueCount 1), as the Functions host', () => {
  it('names no poison queue for a -poison queue, nor for a name that would be too long', () => {
    expect(poisonQueueNameFor('directory-changes')).toBe('directory-changes-poison');
    expect(poisonQueueNameFor('directory-changes-poison')).toBeUndefined();
    expect(poisonQueueNameFor('q'.repeat(60))).toBeUndefined();
  });

  it('leaves a message whose drain fails invisible in its queue: never moved to -poison-poison, not retried at once', async () => {
    const body = toBase64(JSON.stringify({ poisoned: true }));
    await queueClient(azurite.connectionString, 'broken-poison').sendMessage(body);
    await waitFor(
      () =>
        Promise.resolve(
          logs.some((e) => e.functionName === 'failingDrain' && e.message === 'attempt 1') ? true : undefined,
        ),
      'the failing drain to run',
    );
    await sleep(1_500);
    const attempts = logs.filter(
      (e) => e.functionName === 'failingDrain' && e.message.startsWith('attempt '),
    );
    expect(attempts.map((e) => e.message)).toEqual(['attempt 1']);
    const properties = await queueClient(azurite.connectionString, 'broken-poison').getProperties();
    expect(properties.approximateMessagesCount).toBe(1);
    expect(await queueNames()).not.toContain('broken-poison-poison');
  });

  it('leaves a message that is not valid base64 where it is, without invoking the drain', async () => {
    await queueClient(azurite.connectionString, 'raw-poison').sendMessage('not base64: {"x": 1} !!');
    await waitFor(
      () => Promise.resolve(logs.some((e) => e.message.includes('is not valid base64')) ? true : undefined),
      'the host to find the message undecodable',
    );
    await sleep(500);
    expect(logs.filter((e) => e.functionName === 'quietDrain' && e.message.startsWith('drained'))).toEqual(
      [],
    );
    const properties = await queueClient(azurite.connectionString, 'raw-poison').getProperties();
    expect(properties.approximateMessagesCount).toBe(1);
    expect(await queueNames()).not.toContain('raw-poison-poison');
  });
});
