/**
 * What Graph accepts in `POST /subscriptions` and `PATCH /subscriptions/{id}` for directory resources, and
 * the error Graph answers when a rule is broken.
 */
import { z } from 'zod';

import { isAllowedNotificationUrl } from './notification-url.policy.js';

/** Graph's maximum lifetime of a users/groups subscription: 41,760 minutes (under 29 days). */
export const MAX_EXPIRATION_MINUTES = 41_760;
/** Graph's maximum length of `clientState`. */
export const MAX_CLIENT_STATE_LENGTH = 128;
const CHANGE_TYPES = ['created', 'updated', 'deleted'] as const;

export interface RuleViolation {
  readonly code: string;
  readonly message: string;
}

const urlString = z.string().min(1);

export const createSubscriptionBody = z.object({
  changeType: z.string().min(1),
  notificationUrl: urlString,
  lifecycleNotificationUrl: urlString.nullish(),
  resource: z.string().min(1),
  expirationDateTime: z.string().min(1),
  clientState: z.string().nullish(),
  latestSupportedTlsVersion: z.string().nullish(),
  includeResourceData: z.boolean().nullish(),
});
export type CreateSubscriptionBody = z.infer<typeof createSubscriptionBody>;

export const updateSubscriptionBody = z.object({
  expirationDateTime: z.string().min(1).optional(),
  notificationUrl: urlString.optional(),
  lifecycleNotificationUrl: urlString.nullish(),
});
export type UpdateSubscriptionBody = z.infer<typeof updateSubscriptionBody>;

/** `users`, `/users`, `groups`, `/groups` (any case) → the directory collection; anything else → undefined. */
export function directoryResource(resource: string): 'users' | 'groups' | undefined {
  const normalized = resource.trim().replace(/^\/+/, '').toLowerCase();
  return normalized === 'users' || normalized === 'groups' ? normalized : undefined;
}

/**
 * Parses the comma-separated `changeType`. Graph accepts `created` for users and groups but never sends it:
 * creations arrive as `updated` (see subscription resource docs), which the delivery side mirrors.
 */
export function parseChangeTypes(changeType: string): ReadonlySet<string> | RuleViolation {
  const parts = changeType.split(',').map((part) => part.trim().toLowerCase());
  const unknown = parts.filter((part) => !(CHANGE_TYPES as readonly string[]).includes(part));
  if (parts.length === 0 || unknown.length > 0) {
    return {
      code: 'InvalidRequest',
      message: `Invalid changeType '${changeType}'. Supported values are created, updated and deleted, comma-separated.`,
    };
  }
  return new Set(parts);
}

/** Checks an expiration against Graph's window (in the future, at most 41,760 minutes ahead). */
export function parseExpiration(expirationDateTime: string, now: number): number | RuleViolation {
  const expiresAt = Date.parse(expirationDateTime);
  if (Number.isNaN(expiresAt)) {
    return { code: 'InvalidRequest', message: `Invalid expirationDateTime '${expirationDateTime}'.` };
  }
  if (expiresAt <= now) {
    return { code: 'InvalidRequest', message: 'Subscription expiration must be in the future.' };
  }
  if (expiresAt - now > MAX_EXPIRATION_MINUTES * 60_000) {
    return {
      code: 'InvalidRequest',
      message: `Subscription expiration can only be ${MAX_EXPIRATION_MINUTES} minutes in the future.`,
    };
  }
  return expiresAt;
}

export function checkClientState(clientState: string | null | undefined): RuleViolation | undefined {
  if (clientState !== null && clientState !== undefined && clientState.length > MAX_CLIENT_STATE_LENGTH) {
    return {
      code: 'InvalidRequest',
      message: `clientState must not be longer than ${MAX_CLIENT_STATE_LENGTH} characters.`,
    };
  }
  return undefined;
}

export function checkNotificationUrl(name: string, url: string): RuleViolation | undefined {
  if (isAllowedNotificationUrl(url)) return undefined;
  return { code: 'InvalidRequest', message: `Subscription ${name} must be an https URL ('${url}').` };
}
