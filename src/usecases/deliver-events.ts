import { type DeliveryState, EventStore } from '../adapters/storage/event-store.js';
import { withPartitionLock } from '../adapters/storage/partition-lock.js';
import type { TableGateway } from '../adapters/storage/table-gateway.js';
import type { ConnectionSettings } from '../domain/connection-settings.js';
import type { FeedEvent } from '../domain/person-events.js';
import type { Logger } from '../ports/logger.js';
import type { SecretStore } from '../ports/secret-store.js';
import { forEachConcurrently } from '../shared/concurrency.js';
import { ensureError, TransientError } from '../shared/errors.js';
import { feedHorizon } from './feed-writers.js';
import { eventView } from './read-events.js';

/**
 * Delivers the feed to the app's webhook (`appWebhook` in the connection's settings), signed
 * (Standard Webhooks, src/adapters/webhooks/signed-webhook.ts), at least once, in order per subject:
 *
 * - from the tenant's delivery cursor, a window of the feed (only events older than the settle lag
 *   and than every writer still writing, see feed-writers.ts) is split into lanes, one per subject
 *   (person or team), delivered concurrently, each lane in sequence order: an event is sent only once
 *   the subject's earlier ones were delivered (or dead-lettered);
 * - a failed attempt (not 2xx, no answer) is retried with exponential back-off and jitter; an event
 *   that failed `maxAttempts` times (counted across passes) goes to the dead-letter list and its lane
 *   goes on; an event still short of it blocks its lane until the next pass;
 * - the cursor moves to just before the earliest blocked event (every event before it delivered or
 *   dead-lettered), so events after it that other lanes delivered are sent again: at least once, and
 *   the receiver drops repeats by `webhook-id` (the event's stable id);
 * - `replayFrom` (POST /api/events/replay) moves the cursor back: everything after it is sent again.
 *
 * One deliverer per tenant at a time (a partition lock); the secret is read from Key Vault per pass
 * (cached by the store) and never logged.
 */
export interface EventDeliveryDeps {
  readonly tables: TableGateway;
  readonly buckets: number;
  readonly secrets: SecretStore | undefined;
  readonly send: (
    url: string,
    secret: string,
    payload: unknown,
    options: { id: string; timestamp: Date },
  ) => Promise<{ delivered: boolean; reason?: string }>;
  readonly now: () => Date;
  readonly settleMs: number;
  /** Back-off base: attempt n waits about base × 2^(n−1) (jittered), at most MAX_BACKOFF_MS. */
  readonly retryBaseMs: number;
  readonly log: Logger;
}

export interface DeliveryReport {
  readonly tenantId: string;
  readonly delivered: number;
  readonly failedAttempts: number;
  readonly deadLettered: number;
  readonly cursor: string;
  readonly waiting?: string;
}

const WINDOW = 100;
const LANES = 8;
/** Attempts of one event within one pass before its lane waits for the next pass. */
const TRIES_PER_PASS = 3;
const MAX_BACKOFF_MS = 5 * 60 * 1000;
/** A pass waits in process for back-offs up to this; longer ones wait for a later tick. */
const INLINE_WAIT_MS = 2_000;
/** One tick's time budget per tenant. */
const BUDGET_MS = 20_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function backoffMs(attempts: number, baseMs: number, random: () => number = Math.random): number {
  const exp = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(exp / 2 + (random() * exp) / 2);
}

/** The subjects' lanes of a window, each in feed (= sequence) order. */
export function lanesOf(window: readonly FeedEvent[]): FeedEvent[][] {
  const lanes = new Map<string, FeedEvent[]>();
  for (const event of window) {
    const lane = lanes.get(event.subjectId);
    if (lane) lane.push(event);
    else lanes.set(event.subjectId, [event]);
  }
  return [...lanes.values()];
}

/** The cursor after a pass: the last event of the window before the earliest blocked one. */
export function cursorAfter(
  window: readonly FeedEvent[],
  blocked: ReadonlySet<string>,
  previous: string,
): string {
  let cursor = previous;
  for (const event of window) {
    if (blocked.has(event.key)) return cursor;
    cursor = event.key;
  }
  return cursor;
}

/** Delivers every enabled connection's events: one tenant after the other, each under its lock. */
export async function deliverAllEvents(
  deps: EventDeliveryDeps,
  connections: readonly ConnectionSettings[],
): Promise<DeliveryReport[]> {
  const reports: DeliveryReport[] = [];
  for (const connection of connections) {
    const webhook = connection.appWebhook;
    if (!connection.enabled || !webhook?.enabled) continue;
    try {
      const report = await withPartitionLock(
        deps.tables,
        connection.tenantId,
        'event-delivery',
        () => deliverTenant(deps, connection.tenantId, webhook),
        { waitSeconds: 0 },
      );
      reports.push(report);
    } catch (error) {
      if (error instanceof TransientError) continue; // another deliverer has it
      deps.log.error('event delivery failed', {
        tenantId: connection.tenantId,
        error: ensureError(error).message,
      });
    }
  }
  return reports;
}

export async function deliverTenant(
  deps: EventDeliveryDeps,
  tenantId: string,
  webhook: NonNullable<ConnectionSettings['appWebhook']>,
): Promise<DeliveryReport> {
  const store = new EventStore(deps.tables, deps.buckets);
  const started = deps.now().getTime();
  let state: DeliveryState = await store.deliveryState(tenantId);
  let delivered = 0;
  let failedAttempts = 0;
  let deadLettered = 0;
  const report = (waiting?: string): DeliveryReport => ({
    tenantId,
    delivered,
    failedAttempts,
    deadLettered,
    cursor: state.cursor,
    ...(waiting ? { waiting } : {}),
  });
  if (state.nextAttemptAt !== '' && state.nextAttemptAt > deps.now().toISOString())
    return report(state.nextAttemptAt);
  if (!deps.secrets) throw new Error('KEY_VAULT_URI is not set: the app webhook has no signing secret');
  const secret = await deps.secrets.getSecret(webhook.secretName);

  while (deps.now().getTime() - started < BUDGET_MS) {
    const until = await feedHorizon(deps.tables, tenantId, deps.now(), deps.settleMs);
    const window = await store.read(tenantId, {
      ...(state.cursor ? { after: state.cursor } : {}),
      until,
      limit: WINDOW,
    });
    if (window.length === 0) break;
    const failures = new Map(Object.entries(state.failures));
    const blocked = new Map<string, number>();
    let passDelivered = 0;
    await forEachConcurrently(lanesOf(window), LANES, async (lane) => {
      for (const event of lane) {
        let attempts = failures.get(event.key) ?? 0;
        let reason = '';
        let ok = false;
        for (let tried = 0; tried < TRIES_PER_PASS && attempts < webhook.maxAttempts; tried += 1) {
          if (attempts > 0) await sleep(Math.min(INLINE_WAIT_MS, backoffMs(attempts, deps.retryBaseMs)));
          const result = await deps.send(webhook.url, secret, eventView(tenantId, event), {
            id: event.id,
            timestamp: deps.now(),
          });
          if (result.delivered) {
            ok = true;
            break;
          }
          attempts += 1;
          failedAttempts += 1;
          reason = result.reason ?? 'failed';
        }
        if (ok) {
          delivered += 1;
          passDelivered += 1;
          continue;
        }
        if (attempts >= webhook.maxAttempts) {
          await store.deadLetter(tenantId, event, attempts, reason, deps.now().toISOString());
          deadLettered += 1;
          deps.log.warn('event dead-lettered', {
            tenantId,
            eventId: event.id,
            type: event.type,
            attempts,
            reason,
          });
          continue;
        }
        blocked.set(event.key, attempts);
        return; // the subject's later events wait: in order per subject
      }
    });
    const cursor = cursorAfter(window, new Set(blocked.keys()), state.cursor);
    const worst = Math.max(0, ...blocked.values());
    const wait = blocked.size > 0 ? backoffMs(worst, deps.retryBaseMs) : 0;
    const next: DeliveryState = {
      cursor,
      failures: Object.fromEntries(blocked),
      nextAttemptAt: wait > INLINE_WAIT_MS ? new Date(deps.now().getTime() + wait).toISOString() : '',
      delivered: state.delivered + passDelivered,
      ...(state.etag ? { etag: state.etag } : {}),
    };
    if (!(await store.saveDeliveryState(tenantId, next))) break; // a replay moved the cursor: start over next tick
    state = await store.deliveryState(tenantId);
    if (next.nextAttemptAt !== '') return report(next.nextAttemptAt);
    if (blocked.size > 0) await sleep(wait);
    else if (window.length < WINDOW) break;
  }
  return report();
}
