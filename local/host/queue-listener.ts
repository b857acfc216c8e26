import { randomUUID } from 'node:crypto';

import type { DequeuedMessageItem, QueueClient } from '@azure/storage-queue';

import { ensureError } from '../../src/shared/errors.js';
import type { RegisteredFunction } from './core-api.js';
import type { RpcTypedData } from './core-api-types.js';
import type { InvocationInput } from './function-invoker.js';
import type { QueuesConfig } from './host-config.js';
import { HOST_CATEGORY, type HostLogSink } from './log-sink.js';
import { MESSAGE_LEASE_SECONDS, MessageLease } from './message-lease.js';
import { decodeQueueMessage, queueMessageTypedData } from './queue-message-encoding.js';

/** The first wait after an empty poll; it doubles up to maxPollingInterval. */
export const MIN_POLLING_INTERVAL_MS = 100;

export interface QueueListenerOptions {
  readonly fn: RegisteredFunction;
  readonly triggerName: string;
  readonly queueName: string;
  readonly queue: QueueClient;
  /** `<queue>-poison`; undefined for a queue that has none (see poisonQueueNameFor). */
  readonly poisonQueue: QueueClient | undefined;
  readonly config: QueuesConfig;
  /** Runs the invocation and its output bindings; rejects when either fails. */
  readonly invoke: (fn: RegisteredFunction, input: InvocationInput) => Promise<unknown>;
  readonly log: HostLogSink;
}

const POISON_SUFFIX = '-poison';
const QUEUE_NAME = /^[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$/;

/**
 * The poison queue of a trigger queue, as the Functions host's queue extension names it: `<queue>-poison`,
 * except for a queue that is itself a poison queue (its name ends with `-poison`) or whose poison queue
 * name would not be a valid queue name (over 63 characters): those have none. A message that fails on
 * such a queue is left invisible (it comes back when its visibility runs out), one that cannot be
 * decoded is left where it is: nothing ever goes to `-poison-poison`.
 */
export function poisonQueueNameFor(queueName: string): string | undefined {
  if (queueName.endsWith(POISON_SUFFIX)) return undefined;
  const name = `${queueName}${POISON_SUFFIX}`;
  return name.length <= 63 && QUEUE_NAME.test(name) ? name : undefined;
}

/** The host's trigger metadata for a queue message (camel-cased by `@azure/functions`). */
export function queueTriggerMetadata(
  message: DequeuedMessageItem,
  content: string,
  functionName: string,
): Record<string, RpcTypedData> {
  return {
    QueueTrigger: { string: content },
    Id: { string: message.messageId },
    DequeueCount: { int: message.dequeueCount },
    InsertionTime: { string: message.insertedOn.toISOString() },
    ExpirationTime: { string: message.expiresOn.toISOString() },
    NextVisibleTime: { string: message.nextVisibleOn.toISOString() },
    PopReceipt: { string: message.popReceipt },
    sys: {
      json: JSON.stringify({
        MethodName: functionName,
        UtcNow: new Date().toISOString(),
        RandGuid: randomUUID(),
      }),
    },
  };
}

/**
 * Polls one storage queue for one function, like the host's queue listener: batches of `batchSize`, a new
 * batch once in-flight invocations drop to `newBatchThreshold`, exponential back-off while idle, an
 * immediate re-poll after messages or a wake-up, poison handling after `maxDequeueCount` failures.
 */
export class QueueListener {
  readonly #options: QueueListenerOptions;
  #inFlight = 0;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #signalPending = false;
  #signal: (() => void) | undefined;

  constructor(options: QueueListenerOptions) {
    this.#options = options;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Polls at once (a message was just sent to this queue by this host). */
  wake(): void {
    this.#notify();
  }

  /** Stops fetching; resolves once the messages already fetched have been processed. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#notify();
    await this.#loop;
    while (this.#inFlight > 0) await this.#waitForSignal(undefined);
  }

  async #run(): Promise<void> {
    const { queue, config } = this.#options;
    let idleDelay = 0;
    while (!this.#stopping) {
      if (this.#inFlight > config.newBatchThreshold) {
        await this.#waitForSignal(undefined);
        continue;
      }
      let messages: DequeuedMessageItem[];
      try {
        const received = await queue.receiveMessages({
          numberOfMessages: config.batchSize,
          visibilityTimeout: MESSAGE_LEASE_SECONDS,
        });
        messages = received.receivedMessageItems;
      } catch (error) {
        this.#logHost(
          'error',
          `Polling queue '${this.#options.queueName}' failed: ${ensureError(error).message}`,
        );
        messages = [];
      }
      for (const message of messages) void this.#process(message);
      if (messages.length > 0) {
        idleDelay = 0;
        continue;
      }
      idleDelay = Math.min(
        idleDelay === 0 ? MIN_POLLING_INTERVAL_MS : idleDelay * 2,
        config.maxPollingIntervalMs,
      );
      if (await this.#waitForSignal(idleDelay)) idleDelay = 0;
    }
  }

  async #process(message: DequeuedMessageItem): Promise<void> {
    const { fn, triggerName, queueName, queue, config } = this.#options;
    this.#inFlight += 1;
    const lease = new MessageLease(queue, message.messageId, message.popReceipt, MESSAGE_LEASE_SECONDS);
    try {
      const content = decodeQueueMessage(message.messageText, config.messageEncoding);
      if (content === undefined) {
        this.#logHost('error', `Message ${message.messageId} on '${queueName}' is not valid base64.`);
        await this.#handlePoison(message, lease);
      } else if (message.dequeueCount > config.maxDequeueCount) {
        await this.#handlePoison(message, lease);
      } else {
        await this.#invoke(message, content, lease, fn, triggerName);
      }
    } catch (error) {
      this.#logHost(
        'error',
        `Handling message ${message.messageId} on '${queueName}' failed: ${ensureError(error).message}`,
      );
    } finally {
      this.#inFlight -= 1;
      this.#notify();
    }
  }

  async #invoke(
    message: DequeuedMessageItem,
    content: string,
    lease: MessageLease,
    fn: RegisteredFunction,
    triggerName: string,
  ): Promise<void> {
    const { queueName, config } = this.#options;
    try {
      await this.#options.invoke(fn, {
        inputData: [{ name: triggerName, data: queueMessageTypedData(content) }],
        triggerMetadata: queueTriggerMetadata(message, content, fn.metadata.name),
        reason: `New queue message detected on '${queueName}'.`,
      });
    } catch {
      if (!this.#options.poisonQueue) {
        // No poison queue: leave the message invisible, so a failing message is not retried in a fast loop.
        await lease.leaveInvisible();
      } else if (message.dequeueCount >= config.maxDequeueCount) {
        await this.#handlePoison(message, lease);
      } else {
        await lease.abandon(Math.ceil(config.visibilityTimeoutMs / 1000));
      }
      return;
    }
    await lease.complete();
  }

  /**
   * Copies the message, byte for byte, to `<queue>-poison`, then deletes it from the trigger queue; on a
   * queue without a poison queue, leaves it where it is (invisible until its visibility runs out).
   */
  async #handlePoison(message: DequeuedMessageItem, lease: MessageLease): Promise<void> {
    const { poisonQueue } = this.#options;
    if (!poisonQueue) {
      await lease.leaveInvisible();
      return;
    }
    await poisonQueue.sendMessage(message.messageText);
    await lease.complete();
    this.#logHost(
      'warning',
      `Message ${message.messageId} has reached MaxDequeueCount of ${this.#options.config.maxDequeueCount}. ` +
        `Moving message to queue '${this.#options.queueName}-poison'.`,
    );
  }

  #logHost(level: string, message: string): void {
    this.#options.log({
      level,
      category: HOST_CATEGORY.queues,
      functionName: this.#options.fn.metadata.name,
      message,
    });
  }

  #notify(): void {
    const signal = this.#signal;
    if (signal) {
      this.#signal = undefined;
      signal();
    } else {
      this.#signalPending = true;
    }
  }

  /** Waits for a wake-up, a finished invocation or stop (true), or the timeout (false). */
  #waitForSignal(timeoutMs: number | undefined): Promise<boolean> {
    if (this.#signalPending) {
      this.#signalPending = false;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.#signal = undefined;
              resolve(false);
            }, timeoutMs);
      this.#signal = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }
}
