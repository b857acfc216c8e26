/** Wires the subscription store, handshake, delivery and lifecycle into the service the core exposes. */
import type { RouteTable } from '../http/route-table.js';
import { dueLifecycleEvents } from './lifecycle-sweeper.js';
import { NotificationBatcher } from './notification-batcher.js';
import { changeNotification, deliveredChangeType, lifecycleNotification } from './notification-payloads.js';
import { NotificationSender } from './notification-sender.js';
import { registerSubscriptionHandlers } from './subscription.routes.js';
import type {
  LifecycleEvent,
  SubscriptionDeps,
  SubscriptionService,
  SubscriptionTimings,
  TenantChange,
} from './subscription.types.js';
import { type SubscriptionRecord, toSubscriptionView } from './subscription-record.js';

export const DEFAULT_TIMINGS: SubscriptionTimings = {
  validationTimeoutMs: 10_000,
  deliveryTimeoutMs: 3_000,
  coalesceMs: 100,
  maxNotificationsPerPost: 100,
  maxAttempts: 4,
  retryBaseDelayMs: 200,
  reauthorizationLeadMs: 60 * 60_000,
  lifecycleSweepMs: 1_000,
};

/** The lifecycle events Graph sends for users and groups subscriptions. */
const DIRECTORY_LIFECYCLE_EVENTS: ReadonlySet<LifecycleEvent> = new Set(['reauthorizationRequired']);

/** A fixed creatorId when the core gives none (the app's service principal in Graph). */
const DEFAULT_CREATOR_ID = '8ee44408-0679-472c-bc2a-692812af3437';

export function createSubscriptionService(routes: RouteTable, deps: SubscriptionDeps): SubscriptionService {
  const timings = { ...DEFAULT_TIMINGS, ...deps.timings };
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const records = new Map<string, SubscriptionRecord>();
  const sender = new NotificationSender(timings);
  const batcher = new NotificationBatcher(sender, timings.coalesceMs, timings.maxNotificationsPerPost);

  registerSubscriptionHandlers(routes, {
    records,
    sender,
    now,
    timings,
    clientId: deps.clientId,
    creatorId: deps.creatorId ?? DEFAULT_CREATOR_ID,
  });

  function notify(change: TenantChange): void {
    for (const record of records.values()) {
      if (record.resource !== change.resource || record.expiresAt <= now()) continue;
      const changeType = deliveredChangeType(change, record.changeTypes);
      if (changeType === undefined) continue;
      const item = changeNotification(record, change, changeType, deps.tenantId);
      const dropRate = deps.droppedNotificationRate?.() ?? 0;
      if (dropRate > 0 && random() < dropRate) {
        sender.record({
          kind: 'change',
          url: record.notificationUrl,
          subscriptionIds: [record.id],
          count: 1,
          status: undefined,
          attempts: 0,
          outcome: 'dropped',
        });
        continue;
      }
      batcher.add(record.notificationUrl, record.id, item);
    }
  }

  async function sendLifecycle(record: SubscriptionRecord, event: LifecycleEvent): Promise<void> {
    if (record.lifecycleNotificationUrl === null) return;
    await sender.send({
      kind: 'lifecycle',
      url: record.lifecycleNotificationUrl,
      subscriptionIds: [record.id],
      items: [lifecycleNotification(record, event, deps.tenantId)],
    });
  }

  /**
   * Graph drops a users or groups subscription at expiry without a word: `subscriptionRemoved` and
   * `missed` exist only for Outlook and Teams resources, so for these the stand-in never sends them.
   */
  function removeExpired(record: SubscriptionRecord): void {
    records.delete(record.id);
  }

  function sweep(): void {
    const due = dueLifecycleEvents(records.values(), now(), timings.reauthorizationLeadMs);
    for (const record of due.reauthorize) {
      record.reauthorizationSent = true;
      void sendLifecycle(record, 'reauthorizationRequired');
    }
    for (const record of due.expired) removeExpired(record);
  }

  const sweeper = setInterval(sweep, timings.lifecycleSweepMs);
  sweeper.unref();
  const unsubscribe = deps.onChange(notify);

  return {
    list: () => [...records.values()].map(toSubscriptionView),
    async triggerLifecycle(id, event) {
      const record = records.get(id);
      if (!record) throw new Error(`No subscription '${id}'.`);
      if (!DIRECTORY_LIFECYCLE_EVENTS.has(event)) {
        throw new Error(
          `Graph sends no ${event} for ${record.resource} subscriptions (only reauthorizationRequired).`,
        );
      }
      record.reauthorizationSent = true;
      await sendLifecycle(record, event);
    },
    forget(id) {
      return records.delete(id);
    },
    notify,
    deliveries: () => sender.deliveries(),
    async idle() {
      while (batcher.waiting() > 0 || sender.pending() > 0) {
        batcher.flushAll();
        await sender.settled();
      }
    },
    stop() {
      clearInterval(sweeper);
      batcher.stop();
      sender.stop();
      if (typeof unsubscribe === 'function') (unsubscribe as () => void)();
    },
  };
}
