import { debounceMs, STALE_NOTIFICATION_REQUEST_MS } from '../domain/subscription-rules.js';
import { type SyncRequest, syncRequestSchema } from './messages.js';
import type { NotificationDeps } from './notification-deps.js';

/**
 * Marks the tenant dirty for `notifications` valid notifications: the first one of a quiet tenant
 * makes the sync request to send (returned); the others coalesce into it while it waits for its round
 * (at most one pending per tenant). The request's round is then coalesced with a running round by the
 * round lease's dirty mark (see fetch-round.ts), as every other request.
 */
export async function requestNotifiedSync(
  deps: NotificationDeps,
  tenantId: string,
  notifications: number,
): Promise<SyncRequest | undefined> {
  const claim = await deps.marks.claim(
    tenantId,
    notifications,
    deps.pipeline.now(),
    STALE_NOTIFICATION_REQUEST_MS,
  );
  if (claim.kind === 'coalesced') return undefined;
  // Parsed, so the envelope's defaults apply as for every other request.
  return syncRequestSchema.parse({
    type: 'sync-request',
    tenantId,
    trigger: 'notification',
    full: false,
    requestedAt: claim.requestedAt,
  });
}

/**
 * The debounce, on the fetcher's side, before a notification request's round: waits until the
 * request is `debounceMs` old (longer once a burst is coalescing into it: see subscription-rules.ts),
 * then releases the tenant's pending mark, so a notification arriving after this point asks for the
 * next round. Requests not made by the webhook (a follow-up, a stale copy) go on at once.
 */
export async function settleNotificationRequest(deps: NotificationDeps, request: SyncRequest): Promise<void> {
  if (request.trigger !== 'notification') return;
  const requestedAt = Date.parse(request.requestedAt);
  let pending = await deps.marks.find(request.tenantId);
  if (!pending || pending.requestedAt !== request.requestedAt) return;
  for (;;) {
    const waitMs = requestedAt + debounceMs(pending.notifications, deps.settings.debounceMs) - Date.now();
    if (waitMs <= 0) break;
    await deps.sleep(waitMs);
    const latest = await deps.marks.find(request.tenantId);
    if (!latest || latest.requestedAt !== request.requestedAt) return;
    pending = latest;
  }
  await deps.marks.release(request.tenantId, request.requestedAt);
}
