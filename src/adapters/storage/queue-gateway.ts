import type { QueueClient, QueueServiceClient } from '@azure/storage-queue';

import { forEachConcurrently } from '../../shared/concurrency.js';
import { poisonQueueOf, type QueueName } from './storage-names.js';

/**
 * The one way messages are published. The encoding must match the trigger's: host.json
 * `extensions.queues.messageEncoding` is `base64` (the Functions default), so messages are base64 JSON.
 */
export class QueueGateway {
  readonly #clients = new Map<string, QueueClient>();

  constructor(private readonly service: QueueServiceClient) {}

  client(queue: string): QueueClient {
    let client = this.#clients.get(queue);
    if (!client) {
      client = this.service.getQueueClient(queue);
      this.#clients.set(queue, client);
    }
    return client;
  }

  async send(queue: QueueName, message: unknown, options: { delaySeconds?: number } = {}): Promise<void> {
    await this.client(queue).sendMessage(encodeMessage(message), {
      ...(options.delaySeconds ? { visibilityTimeout: options.delaySeconds } : {}),
    });
  }

  async sendAll(queue: QueueName, messages: readonly unknown[], concurrency = 16): Promise<void> {
    await forEachConcurrently(messages, concurrency, (message) => this.send(queue, message));
  }

  /** Creates every queue and its `-poison` twin; idempotent. */
  async createQueues(queues: readonly QueueName[]): Promise<void> {
    await Promise.all(
      queues
        .flatMap((queue) => [queue, poisonQueueOf(queue)])
        .map((name) => this.client(name).createIfNotExists()),
    );
  }
}

export function encodeMessage(message: unknown): string {
  return Buffer.from(JSON.stringify(message), 'utf8').toString('base64');
}

/** Queue messages are at most 64 KiB; base64 grows by a third, so a payload must stay under 48 KiB. */
export const MAX_INLINE_PAYLOAD_BYTES = 48 * 1024;
