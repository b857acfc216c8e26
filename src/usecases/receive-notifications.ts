import { z } from 'zod';

import type { StoredSubscription } from '../adapters/storage/subscription-store.js';
import { CLIENT_STATE_LENGTH, type DiscardReason } from '../domain/subscription-rules.js';
import { sameSecret } from '../shared/constant-time.js';
import { ensureError, PermanentError } from '../shared/errors.js';
import type { SyncRequest } from './messages.js';
import type { NotificationDeps } from './notification-deps.js';
import { requestNotifiedSync } from './notification-requests.js';
import type { Logger } from './pipeline-deps.js';

/** A POST larger than this is refused (413) unread: Graph sends at most a few hundred notifications. */
export const MAX_NOTIFICATION_BODY_BYTES = 1024 * 1024;
/** At most this many notifications in one POST. */
export const MAX_NOTIFICATIONS_PER_POST = 1_000;
/** Graph's validation tokens are about 100 characters; a longer one is refused, never echoed. */
export const MAX_VALIDATION_TOKEN_LENGTH = 1_024;

/** A notification POST as Graph sends it (documented by the webhook trigger from this schema). */
export const notificationBodySchema = z
  .object({ value: z.array(z.unknown()).max(MAX_NOTIFICATIONS_PER_POST) })
  .loose();

const identity = {
  subscriptionId: z.string().min(1).max(128),
  clientState: z.string().max(CLIENT_STATE_LENGTH).nullish(),
  tenantId: z.string().min(1).max(64),
};

const changeNotificationSchema = z
  .object({ ...identity, changeType: z.string().max(64), resource: z.string().max(2048) })
  .loose();

export const LIFECYCLE_EVENTS = ['reauthorizationRequired', 'subscriptionRemoved', 'missed'] as const;
const lifecycleNotificationSchema = z
  .object({ ...identity, lifecycleEvent: z.enum(LIFECYCLE_EVENTS) })
  .loose();

type Identity = z.infer<z.ZodObject<typeof identity>>;

export interface ReceivedNotifications {
  /** 202 (read, even if every notification was discarded), 400 (malformed body), 413 (too large). */
  readonly status: 202 | 400 | 413;
  readonly accepted: number;
  readonly discarded: Partial<Record<DiscardReason, number>>;
  /** Sync requests to enqueue (at most one a tenant, and only when none is pending). */
  readonly requests: SyncRequest[];
}

/** The handshake's answer: the decoded token as text/plain, or 400 for a token too long to echo. */
export function answerValidation(token: string): { status: 200 | 400; body: string } {
  if (token.length === 0 || token.length > MAX_VALIDATION_TOKEN_LENGTH)
    return { status: 400, body: 'invalid validationToken' };
  return { status: 200, body: token };
}

/** A POST that was refused before it was read (its declared length is over the cap): counted. */
export async function refuseOversized(deps: NotificationDeps, log: Logger): Promise<ReceivedNotifications> {
  return discardWhole(deps, log, 'oversized-body', 413);
}

/**
 * Change notifications (POST body from Graph): each one's subscription must be ours, its clientState
 * equal (constant time) to the one in Key Vault, its tenant the subscription's; anything else is
 * discarded and counted. Each tenant with valid notifications is marked dirty: one coalesced request.
 */
export async function receiveChangeNotifications(
  deps: NotificationDeps,
  text: string,
  log: Logger,
): Promise<ReceivedNotifications> {
  const checked = await checkBody(deps, text, changeNotificationSchema, log);
  if ('status' in checked) return checked;
  const requests: SyncRequest[] = [];
  for (const [tenantId, items] of checked.valid) {
    const request = await requestNotifiedSync(deps, tenantId, items.length);
    if (request) requests.push(request);
  }
  return finish(deps, log, checked, requests, 'change notifications');
}

/**
 * Lifecycle notifications: `reauthorizationRequired` (the only one Graph sends for users and groups)
 * marks the subscription for the renewal timer, which renews it; `subscriptionRemoved` does the same
 * (the renewal finds it gone and creates it again); `missed` asks for a round.
 */
export async function receiveLifecycleNotifications(
  deps: NotificationDeps,
  text: string,
  log: Logger,
): Promise<ReceivedNotifications> {
  const checked = await checkBody(deps, text, lifecycleNotificationSchema, log);
  if ('status' in checked) return checked;
  const requests: SyncRequest[] = [];
  for (const [tenantId, items] of checked.valid) {
    for (const item of items) {
      if (item.lifecycleEvent === 'missed') continue;
      await deps.subscriptions.requireReauthorization(item.subscriptionId);
      log.info('lifecycle notification: the subscription will be renewed', {
        tenantId,
        subscriptionId: item.subscriptionId,
        lifecycleEvent: item.lifecycleEvent,
      });
    }
    if (items.some((item) => item.lifecycleEvent === 'missed')) {
      const request = await requestNotifiedSync(deps, tenantId, 1);
      if (request) requests.push(request);
    }
  }
  return finish(deps, log, checked, requests, 'lifecycle notifications');
}

interface CheckedBody<T> {
  readonly valid: Map<string, T[]>;
  readonly accepted: number;
  readonly discarded: Partial<Record<DiscardReason, number>>;
}

async function checkBody<T extends Identity>(
  deps: NotificationDeps,
  text: string,
  schema: z.ZodType<T>,
  log: Logger,
): Promise<CheckedBody<T> | ReceivedNotifications> {
  if (Buffer.byteLength(text, 'utf8') > MAX_NOTIFICATION_BODY_BYTES)
    return discardWhole(deps, log, 'oversized-body', 413);
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch {
    return discardWhole(deps, log, 'malformed-body', 400);
  }
  const body = notificationBodySchema.safeParse(json);
  if (!body.success) return discardWhole(deps, log, 'malformed-body', 400);

  const discarded: Partial<Record<DiscardReason, number>> = {};
  const discard = (reason: DiscardReason, n = 1): void => {
    discarded[reason] = (discarded[reason] ?? 0) + n;
  };
  const bySubscription = new Map<string, T[]>();
  for (const raw of body.data.value) {
    const item = schema.safeParse(raw);
    if (!item.success) {
      discard('malformed-notification');
      continue;
    }
    const list = bySubscription.get(item.data.subscriptionId);
    if (list) list.push(item.data);
    else bySubscription.set(item.data.subscriptionId, [item.data]);
  }
  const valid = new Map<string, T[]>();
  let accepted = 0;
  for (const [subscriptionId, items] of bySubscription) {
    const subscription = await knownSubscription(deps, subscriptionId);
    if (!subscription) {
      discard('unknown-subscription', items.length);
      continue;
    }
    const clientState = await clientStateOf(deps, subscription);
    if (clientState === undefined) {
      discard('unknown-subscription', items.length);
      continue;
    }
    for (const item of items) {
      if (!sameSecret(item.clientState ?? '', clientState)) discard('client-state-mismatch');
      else if (item.tenantId.toLowerCase() !== subscription.tenantId) discard('tenant-mismatch');
      else {
        accepted += 1;
        const list = valid.get(subscription.tenantId);
        if (list) list.push(item);
        else valid.set(subscription.tenantId, [item]);
      }
    }
  }
  return { valid, accepted, discarded };
}

async function finish<T>(
  deps: NotificationDeps,
  log: Logger,
  checked: CheckedBody<T>,
  requests: SyncRequest[],
  what: string,
): Promise<ReceivedNotifications> {
  const discardedTotal = Object.values(checked.discarded).reduce((a, b) => a + b, 0);
  if (discardedTotal > 0) {
    log.warn(`${what} discarded`, { discarded: checked.discarded, accepted: checked.accepted });
    await countDiscarded(deps, checked.discarded, log);
  }
  if (requests.length > 0) {
    log.info(`${what}: sync requested`, {
      tenants: requests.map((r) => r.tenantId),
      accepted: checked.accepted,
    });
  }
  return { status: 202, accepted: checked.accepted, discarded: checked.discarded, requests };
}

async function discardWhole(
  deps: NotificationDeps,
  log: Logger,
  reason: DiscardReason,
  status: 400 | 413,
): Promise<ReceivedNotifications> {
  log.warn('notification POST discarded', { reason });
  await countDiscarded(deps, { [reason]: 1 }, log);
  return { status, accepted: 0, discarded: { [reason]: 1 }, requests: [] };
}

async function countDiscarded(
  deps: NotificationDeps,
  counts: Partial<Record<DiscardReason, number>>,
  log: Logger,
): Promise<void> {
  try {
    await deps.subscriptions.countDiscarded(counts);
  } catch (error) {
    log.warn('could not count discarded notifications', { error: ensureError(error).message });
  }
}

/** The subscription's clientState; undefined once its secret is gone (a vault outage is thrown: Graph retries). */
async function clientStateOf(
  deps: NotificationDeps,
  subscription: StoredSubscription,
): Promise<string | undefined> {
  try {
    return await deps.vault.get(subscription.clientStateSecret);
  } catch (error) {
    if (error instanceof PermanentError) return undefined;
    throw error;
  }
}

/** Subscriptions found recently (a notification POST names one or two): fewer table reads under load. */
const KNOWN_FOR_MS = 30_000;
const known = new Map<string, { subscription: StoredSubscription; at: number }>();

async function knownSubscription(
  deps: NotificationDeps,
  subscriptionId: string,
): Promise<StoredSubscription | undefined> {
  const cached = known.get(subscriptionId);
  if (cached && Date.now() - cached.at < KNOWN_FOR_MS) return cached.subscription;
  const subscription = await deps.subscriptions.get(subscriptionId);
  if (subscription) {
    if (known.size > 1_000) known.clear();
    known.set(subscriptionId, { subscription, at: Date.now() });
  } else known.delete(subscriptionId);
  return subscription;
}
