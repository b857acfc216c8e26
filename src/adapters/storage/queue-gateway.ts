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

  /**
   * Sends at once whatever this gateway keeps to send later, and every message after it at once. This
   * gateway keeps nothing (a no-op); the output-binding gateway keeps messages for the invocation's end.
   */
  async sendKeptNow(): Promise<void> {}

  /**
   * Sends a message body to `<queue>-poison` as the host would have moved it (a string as it is, anything
   * else as JSON; base64 as the trigger expects): a message that cannot succeed, refused at once.
   */
  async sendToPoison(queue: QueueName, body: unknown): Promise<void> {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    await this.client(poisonQueueOf(queue)).sendMessage(Buffer.from(text, 'utf8').toString('base64'));
  }

  /**
   * Takes up to `max` messages from `<queue>-poison`, raw (no decoding: a message that is not base64 is
   * still returned), each invisible for `visibilitySeconds` until it is deleted.
   */
  async receivePoison(queue: QueueName, max: number, visibilitySeconds: number): Promise<PoisonMessage[]> {
    const client = this.client(poisonQueueOf(queue));
    const { receivedMessageItems } = await client.receiveMessages({
      numberOfMessages: max,
      visibilityTimeout: visibilitySeconds,
    });
    return receivedMessageItems.map((item) => ({
      text: item.messageText,
      dequeueCount: item.dequeueCount,
      insertedOn: item.insertedOn,
      delete: async () => {
        await client.deleteMessage(item.messageId, item.popReceipt);
      },
    }));
  }

  /**
   * When the oldest message any consumer could take now was put in the queue (ms since the epoch), or
   * undefined when none is visible (invisible ones are not seen: taken, or sent with a delay). Peek reads
   * from the front of the queue, which is the oldest message or close to it (queues are not strictly FIFO).
   */
  async oldestVisibleInsertedAt(queue: QueueName): Promise<number | undefined> {
    const { peekedMessageItems } = await this.client(queue).peekMessages({ numberOfMessages: 1 });
    return peekedMessageItems[0]?.insertedOn.getTime();
  }

  /** Messages in the queue, visible or taken by a host (Azure's approximate count). */
  async approximateCount(queue: QueueName): Promise<number> {
    return (await this.client(queue).getProperties()).approximateMessagesCount ?? 0;
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

/** A message taken from a `-poison` queue, as stored. */
export interface PoisonMessage {
  readonly text: string;
  /** Deliveries from the poison queue itself (the host's copy starts again at 1). */
  readonly dequeueCount: number;
  /** When the host (or a trigger refusing it) put it in the poison queue. */
  readonly insertedOn: Date;
  delete(): Promise<void>;
}

export function encodeMessage(message: unknown): string {
  return Buffer.from(JSON.stringify(message), 'utf8').toString('base64');
}

/** Queue messages are at most 64 KiB; base64 grows by a third, so a payload must stay under 48 KiB. */
export const MAX_INLINE_PAYLOAD_BYTES = 48 * 1024;
