/**
 * POSTs notification bodies to app endpoints as Graph does: JSON, a 2xx expected within the delivery timeout,
 * failed or slow deliveries retried with exponential back-off, then given up. Every POST ends in the log.
 */
import type { Delivery, DeliveryKind } from './subscription.types.js';

export interface SenderSettings {
  readonly deliveryTimeoutMs: number;
  readonly maxAttempts: number;
  readonly retryBaseDelayMs: number;
}

export interface OutgoingPost {
  readonly kind: Exclude<DeliveryKind, 'validation'>;
  readonly url: string;
  readonly subscriptionIds: readonly string[];
  readonly items: readonly unknown[];
}

export class NotificationSender {
  private readonly log: Delivery[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly stopController = new AbortController();

  constructor(private readonly settings: SenderSettings) {}

  deliveries(): readonly Delivery[] {
    return [...this.log];
  }

  record(delivery: Delivery): void {
    this.log.push(delivery);
  }

  /** Sends in the background; `settled()` waits for it. Resolves with the logged outcome. */
  send(post: OutgoingPost): Promise<Delivery> {
    const delivery = this.sendWithRetries(post).then((result) => {
      this.log.push(result);
      return result;
    });
    const tracked = delivery.then(() => undefined);
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
    return delivery;
  }

  pending(): number {
    return this.inFlight.size;
  }

  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  stop(): void {
    this.stopController.abort();
  }

  private async sendWithRetries(post: OutgoingPost): Promise<Delivery> {
    const body = JSON.stringify({ value: post.items });
    let status: number | undefined;
    let attempts = 0;
    while (attempts < this.settings.maxAttempts && !this.stopController.signal.aborted) {
      if (attempts > 0) await this.backOff(attempts);
      if (this.stopController.signal.aborted) break;
      attempts += 1;
      status = await this.postOnce(post.url, body);
      if (status !== undefined && status >= 200 && status < 300) {
        return { ...summary(post), status, attempts, outcome: 'delivered' };
      }
    }
    return { ...summary(post), status, attempts, outcome: 'failed' };
  }

  private async postOnce(url: string, body: string): Promise<number | undefined> {
    const signal = AbortSignal.any([
      AbortSignal.timeout(this.settings.deliveryTimeoutMs),
      this.stopController.signal,
    ]);
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body,
        signal,
      });
      await response.arrayBuffer().catch(() => undefined);
      return response.status;
    } catch {
      // Refused, reset, timed out or cancelled: the endpoint did not answer.
      return undefined;
    }
  }

  private backOff(failedAttempts: number): Promise<void> {
    const delay = this.settings.retryBaseDelayMs * 2 ** (failedAttempts - 1);
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, delay);
      this.stopController.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
  }
}

function summary(post: OutgoingPost): Pick<Delivery, 'kind' | 'url' | 'subscriptionIds' | 'count'> {
  return { kind: post.kind, url: post.url, subscriptionIds: post.subscriptionIds, count: post.items.length };
}
