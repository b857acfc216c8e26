import type { SubscriptionStatus } from '../adapters/storage/subscription-store.js';
import type { DiscardReason } from '../domain/subscription-rules.js';
import type { NotificationDeps } from './notification-deps.js';

export interface SubscriptionsView {
  readonly subscriptions: {
    subscriptionId: string;
    resource: string;
    expiresAt: string;
    renewedAt: string;
  }[];
  readonly status: SubscriptionStatus;
  readonly discarded: Record<DiscardReason, number>;
}

/** A tenant's subscriptions as the admin API shows them: ids, resources and expiries, never a secret. */
export async function describeSubscriptions(
  deps: NotificationDeps,
  tenantId: string,
): Promise<SubscriptionsView> {
  const [rows, status, discarded] = await Promise.all([
    deps.subscriptions.list(),
    deps.subscriptions.status(tenantId),
    deps.subscriptions.discarded(),
  ]);
  return {
    subscriptions: rows
      .filter((row) => row.tenantId === tenantId)
      .map((row) => ({
        subscriptionId: row.subscriptionId,
        resource: row.resource,
        expiresAt: row.expiresAt.toISOString(),
        renewedAt: row.renewedAt,
      })),
    status,
    discarded,
  };
}
