/**
 * Rules of Graph change-notification subscriptions and of the notification path (pure: no clock, no I/O).
 * Graph's facts: `/users` and `/groups`, `changeType` `updated,deleted`, at most 41,760 minutes before
 * renewal, `clientState` at most 128 characters, at most 100 subscriptions per app and tenant.
 */

/** The directory collections a connection subscribes to. */
export const SUBSCRIBED_RESOURCES = ['users', 'groups'] as const;
export type SubscribedResource = (typeof SUBSCRIBED_RESOURCES)[number];

/** Creations and soft deletions arrive as `updated`; permanent deletions as `deleted`. */
export const SUBSCRIBED_CHANGE_TYPES = 'updated,deleted';

/** Graph's longest lifetime of a users or groups subscription. */
export const MAX_SUBSCRIPTION_MINUTES = 41_760;

/** Graph's longest clientState; ours is always exactly this long. */
export const CLIENT_STATE_LENGTH = 128;

/** The expiry to ask for a subscription created or renewed at `now`. */
export function expiryFrom(now: Date, lifetimeMinutes: number): Date {
  const minutes = Math.min(lifetimeMinutes, MAX_SUBSCRIPTION_MINUTES);
  return new Date(now.getTime() + Math.round(minutes * 60_000));
}

/**
 * A subscription is renewed once half its lifetime has passed (29 days: after about 14), so a renewal
 * that keeps failing has two weeks of retries (and the connection's status says so) before Graph
 * stops delivering.
 */
export function renewalDue(expiresAt: Date, now: Date, lifetimeMinutes: number): boolean {
  return (
    expiresAt.getTime() - now.getTime() <= (Math.min(lifetimeMinutes, MAX_SUBSCRIPTION_MINUTES) * 60_000) / 2
  );
}

/**
 * The debounce of a notification round: `baseMs` after the first notification of a quiet tenant (a
 * leaver is out of the app in about a second); once a burst is coalescing (at least
 * `BURST_NOTIFICATIONS` in one window), the window grows to `BURST_DEBOUNCE_MS`, so a burst of 10,000
 * notifications in 10 s makes about five delta rounds, not one per notification or per window.
 */
export const BURST_NOTIFICATIONS = 100;
export const BURST_DEBOUNCE_MS = 2_500;

export function debounceMs(notificationsSoFar: number, baseMs: number): number {
  return notificationsSoFar >= BURST_NOTIFICATIONS ? Math.max(baseMs, BURST_DEBOUNCE_MS) : baseMs;
}

/**
 * A pending notification request older than this is taken to be lost (its message failed to send, or
 * its fetcher died before it could start): the next notification replaces it and asks again.
 */
export const STALE_NOTIFICATION_REQUEST_MS = 60_000;

/** Why a notification (or a whole POST) was discarded. */
export const DISCARD_REASONS = [
  'malformed-body',
  'oversized-body',
  'malformed-notification',
  'unknown-subscription',
  'client-state-mismatch',
  'tenant-mismatch',
] as const;
export type DiscardReason = (typeof DISCARD_REASONS)[number];
