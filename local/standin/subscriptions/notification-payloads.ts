/** Builds notification bodies with Graph's shapes (see fixtures notification.* and lifecycle.*). */
import { randomUUID } from 'node:crypto';

import type { LifecycleEvent, TenantChange } from './subscription.types.js';
import type { SubscriptionRecord } from './subscription-record.js';
import { subscriptionDateTime } from './subscription-record.js';

export type NotificationItem = Readonly<Record<string, unknown>>;

/**
 * The changeType Graph sends for a directory change, or undefined when the subscription does not get it.
 * Graph sends `updated` for creations, updates and soft deletions of users and groups, `deleted` only for
 * permanent deletions.
 */
export function deliveredChangeType(
  change: TenantChange,
  subscribed: ReadonlySet<string>,
): string | undefined {
  const sent = change.changeType === 'deleted' && change.permanent !== false ? 'deleted' : 'updated';
  return subscribed.has(sent) ? sent : undefined;
}

export function changeNotification(
  record: SubscriptionRecord,
  change: TenantChange,
  changeType: string,
  tenantId: string,
): NotificationItem {
  const entity = change.resource === 'users' ? 'User' : 'Group';
  const path = `${entity}s/${change.id}`;
  return {
    id: randomUUID(),
    subscriptionId: record.id,
    subscriptionExpirationDateTime: new Date(record.expiresAt).toISOString(),
    clientState: record.clientState,
    changeType,
    resource: path,
    tenantId,
    resourceData: {
      '@odata.type': `#Microsoft.Graph.${entity}`,
      '@odata.id': path,
      id: change.id,
      organizationId: tenantId,
    },
  };
}

export function lifecycleNotification(
  record: SubscriptionRecord,
  event: LifecycleEvent,
  tenantId: string,
): NotificationItem {
  return {
    lifecycleEvent: event,
    subscriptionId: record.id,
    subscriptionExpirationDateTime: subscriptionDateTime(record.expiresAt).replace(/Z$/, '+00:00'),
    clientState: record.clientState,
    tenantId,
  };
}
