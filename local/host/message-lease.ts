import type { QueueClient } from '@azure/storage-queue';

/** How long a fetched message stays invisible while its invocation runs, renewed at half-time. */
export const MESSAGE_LEASE_SECONDS = 600;

/**
 * Keeps a received message invisible while it is processed: renews its visibility before the lease runs
 * out, and tracks the latest pop receipt (each update changes it) for the final delete or release.
 */
export class MessageLease {
  readonly #queue: QueueClient;
  readonly #messageId: string;
  readonly #leaseSeconds: number;
  #popReceipt: string;
  #renewing: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    queue: QueueClient,
    messageId: string,
    popReceipt: string,
    leaseSeconds = MESSAGE_LEASE_SECONDS,
  ) {
    this.#queue = queue;
    this.#messageId = messageId;
    this.#popReceipt = popReceipt;
    this.#leaseSeconds = leaseSeconds;
    this.#timer = setInterval(
      () => {
        this.#renewing = this.#renewing.then(() => this.#update(this.#leaseSeconds)).catch(() => undefined);
      },
      (leaseSeconds * 1000) / 2,
    );
  }

  /** Deletes the message (its invocation succeeded, or it was moved to the poison queue). */
  async complete(): Promise<void> {
    await this.#stopRenewing();
    await this.#queue.deleteMessage(this.#messageId, this.#popReceipt);
  }

  /** Makes the message visible again after `visibleAfterSeconds` (its invocation failed). */
  async abandon(visibleAfterSeconds: number): Promise<void> {
    await this.#stopRenewing();
    await this.#update(visibleAfterSeconds);
  }

  /** Stops renewing and leaves the message invisible until its visibility runs out (no poison queue). */
  async leaveInvisible(): Promise<void> {
    await this.#stopRenewing();
  }

  async #stopRenewing(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#renewing;
  }

  async #update(visibilitySeconds: number): Promise<void> {
    const updated = await this.#queue.updateMessage(
      this.#messageId,
      this.#popReceipt,
      undefined,
      visibilitySeconds,
    );
    if (updated.popReceipt) this.#popReceipt = updated.popReceipt;
  }
}
