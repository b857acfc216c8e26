/**
 * Coalesces change notifications per endpoint: items for the same URL that arrive within the window go in
 * one POST (at most `maxPerPost` items each), as Graph batches several notifications in one `value[]`.
 */
import type { NotificationItem } from './notification-payloads.js';
import type { NotificationSender } from './notification-sender.js';

interface Pending {
  readonly items: NotificationItem[];
  readonly subscriptionIds: Set<string>;
  timer: NodeJS.Timeout | undefined;
}

export class NotificationBatcher {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly sender: NotificationSender,
    private readonly windowMs: number,
    private readonly maxPerPost: number,
  ) {}

  add(url: string, subscriptionId: string, item: NotificationItem): void {
    let batch = this.pending.get(url);
    if (!batch) {
      batch = { items: [], subscriptionIds: new Set(), timer: undefined };
      this.pending.set(url, batch);
      batch.timer = setTimeout(() => this.flush(url), this.windowMs);
    }
    batch.items.push(item);
    batch.subscriptionIds.add(subscriptionId);
    if (batch.items.length >= this.maxPerPost) this.flush(url);
  }

  waiting(): number {
    return this.pending.size;
  }

  /** Sends everything now (used by `idle()` so tests need not wait for the window). */
  flushAll(): void {
    for (const url of [...this.pending.keys()]) this.flush(url);
  }

  stop(): void {
    for (const batch of this.pending.values()) clearTimeout(batch.timer);
    this.pending.clear();
  }

  private flush(url: string): void {
    const batch = this.pending.get(url);
    if (!batch) return;
    clearTimeout(batch.timer);
    this.pending.delete(url);
    void this.sender.send({
      kind: 'change',
      url,
      subscriptionIds: [...batch.subscriptionIds],
      items: batch.items,
    });
  }
}
