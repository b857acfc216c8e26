/**
 * Graph change-notification subscriptions for `users` and `groups`: the `/subscriptions` API with the
 * validation handshake, delivery of change notifications (coalesced, retried with back-off, droppable by
 * the fault plan) and lifecycle notifications (`reauthorizationRequired` only, as Graph for users and
 * groups: an expired subscription disappears without a word).
 */
import type { RouteTable } from '../http/route-table.js';
import { createSubscriptionService } from './subscription.service.js';
import type { SubscriptionDeps, SubscriptionService } from './subscription.types.js';

export type {
  Delivery,
  DeliveryKind,
  LifecycleEvent,
  SubscriptionDeps,
  SubscriptionService,
  SubscriptionTimings,
  SubscriptionView,
  TenantChange,
} from './subscription.types.js';

/** Registers `/subscriptions` routes, starts listening to tenant changes, and returns the service. */
export function registerSubscriptionRoutes(routes: RouteTable, deps: SubscriptionDeps): SubscriptionService {
  return createSubscriptionService(routes, deps);
}
