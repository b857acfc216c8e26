import { setTimeout as sleep } from 'node:timers/promises';

import { type QueueClient, QueueServiceClient } from '@azure/storage-queue';

/** Polls `probe` until it returns a value; the deadline only stops a broken test from hanging. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  deadlineMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Gave up waiting for ${what}.`);
    await sleep(100);
  }
}

export function queueClient(connectionString: string, queueName: string): QueueClient {
  return QueueServiceClient.fromConnectionString(connectionString).getQueueClient(queueName);
}

/** Receives and deletes messages until `count` have arrived; returns their raw texts in arrival order. */
export async function takeMessages(queue: QueueClient, count: number): Promise<string[]> {
  await queue.createIfNotExists();
  const texts: string[] = [];
  await waitFor(async () => {
    const { receivedMessageItems } = await queue.receiveMessages({
      numberOfMessages: 32,
      visibilityTimeout: 30,
    });
    for (const item of receivedMessageItems) {
      texts.push(item.messageText);
      await queue.deleteMessage(item.messageId, item.popReceipt);
    }
    return texts.length >= count ? texts : undefined;
  }, `${count} message(s) on queue ${queue.name}`);
  return texts;
}

export const toBase64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
export const fromBase64 = (text: string): string => Buffer.from(text, 'base64').toString('utf8');
