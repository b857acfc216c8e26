/**
 * Decides, on a periodic sweep against the clock, which lifecycle events are due: `reauthorizationRequired`
 * once per expiration, `lead` before it, and silent removal at expiration (Graph sends no
 * `subscriptionRemoved` for users and groups). A sweep
 * instead of one timer per subscription copes with lifetimes beyond setTimeout's 24.8-day limit and with a
 * clock the core may move.
 */
import type { SubscriptionRecord } from './subscription-record.js';

export interface DueLifecycle {
  readonly reauthorize: readonly SubscriptionRecord[];
  readonly expired: readonly SubscriptionRecord[];
}

export function dueLifecycleEvents(
  records: Iterable<SubscriptionRecord>,
  now: number,
  reauthorizationLeadMs: number,
): DueLifecycle {
  const reauthorize: SubscriptionRecord[] = [];
  const expired: SubscriptionRecord[] = [];
  for (const record of records) {
    if (now >= record.expiresAt) expired.push(record);
    else if (!record.reauthorizationSent && now >= record.expiresAt - reauthorizationLeadMs)
      reauthorize.push(record);
  }
  return { reauthorize, expired };
}
