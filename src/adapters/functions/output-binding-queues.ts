import { type InvocationContext, output, type StorageQueueOutput } from '@azure/functions';
import type { QueueServiceClient } from '@azure/storage-queue';

import { QueueGateway } from '../storage/queue-gateway.js';
import { type QueueName, QUEUES } from '../storage/storage-names.js';

/**
 * The queue output bindings of the notification fast path, one per pipeline queue. A function that
 * declares them (`extraOutputs`) has its messages sent by the Functions host when it returns, and the
 * host then wakes its own listener of that queue at once (the WebJobs shared queue watcher; the local
 * host does the same) instead of waiting for the listener's next poll (up to maxPollingInterval).
 */
export const QUEUE_OUTPUTS = Object.fromEntries(
  Object.values(QUEUES).map((queueName) => [
    queueName,
    output.storageQueue({ queueName, connection: 'AzureWebJobsStorage' }),
  ]),
) as Readonly<Record<QueueName, StorageQueueOutput>>;

/** At most this many messages wait for the end of one invocation; the rest are sent at once. */
export const MAX_DEFERRED_MESSAGES = 64;

/**
 * The pipeline's queue gateway for one invocation on the fast path: a message without a delay is kept
 * for the invocation's output binding (sent as the function returns); a delayed message, or any beyond
 * MAX_DEFERRED_MESSAGES, is sent at once through the SDK as usual. Every message the pipeline publishes
 * is recorded before it is sent, so one lost with a crashed invocation is published again by the
 * watchdog, exactly as a message lost between the record and the send.
 */
export class OutputBindingQueues extends QueueGateway {
  readonly #deferred = new Map<QueueName, unknown[]>();
  #count = 0;

  constructor(service: QueueServiceClient) {
    super(service);
  }

  override async send(
    queue: QueueName,
    message: unknown,
    options: { delaySeconds?: number } = {},
  ): Promise<void> {
    if (!options.delaySeconds && this.#count < MAX_DEFERRED_MESSAGES) {
      this.#count += 1;
      const list = this.#deferred.get(queue);
      if (list) list.push(message);
      else this.#deferred.set(queue, [message]);
      return;
    }
    await super.send(queue, message, options);
  }

  /** Hands the kept messages to the invocation's output bindings (call once, as the function returns). */
  handTo(context: InvocationContext): void {
    for (const [queue, messages] of this.#deferred) context.extraOutputs.set(QUEUE_OUTPUTS[queue], messages);
    this.#deferred.clear();
  }

  /**
   * Sends the kept messages now, and every later one at once: the invocation is failing (its output
   * bindings will not be sent), or it will run long (a full round's fetch).
   */
  override async sendKeptNow(): Promise<void> {
    const kept = [...this.#deferred];
    this.#deferred.clear();
    this.#count = MAX_DEFERRED_MESSAGES;
    for (const [queue, messages] of kept) for (const message of messages) await super.send(queue, message);
  }
}
