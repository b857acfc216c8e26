import { QUEUES } from '../adapters/storage/storage-names.js';
import type { Released } from '../adapters/storage/sync-state-store.js';
import { nextDueAfter } from '../domain/schedule.js';
import { expireHeldRuns } from './approve-held.js';
import type { SyncRequest, Trigger } from './messages.js';
import type { PipelineDeps } from './pipeline-deps.js';

/** Asks for a round (the fetcher coalesces requests that arrive while one runs). */
export async function requestSync(
  deps: PipelineDeps,
  tenantId: string,
  trigger: Trigger,
  full = false,
  /** Ids the caller can find the run by (`GET …/runs/{id}`), e.g. an admin's request id. */
  requestIds: readonly string[] = [],
): Promise<SyncRequest> {
  return sendRequest(deps, {
    tenantId,
    trigger,
    full,
    ...(requestIds.length > 0 ? { requestIds: [...requestIds] } : {}),
  });
}

/** Stamps a request and sends it to the fetcher's queue. */
async function sendRequest(
  deps: PipelineDeps,
  fields: Omit<SyncRequest, 'type' | 'requestedAt'>,
): Promise<SyncRequest> {
  const request: SyncRequest = { type: 'sync-request', ...fields, requestedAt: deps.now().toISOString() };
  await deps.queues.send(QUEUES.syncRequests, request);
  return request;
}

/** The watchdog asks for a stalled round to be resumed (see `SyncRequest.resume`). */
export async function requestResume(deps: PipelineDeps, tenantId: string): Promise<SyncRequest> {
  return sendRequest(deps, { tenantId, trigger: 'schedule', full: false, resume: true });
}

/**
 * Asks for everyone to be re-projected from the mirror under the connection's current settings (a
 * settings save, a rollback, a resolved dispute): a run with no Graph request.
 */
export async function requestReproject(deps: PipelineDeps, tenantId: string): Promise<SyncRequest> {
  return sendRequest(deps, { tenantId, trigger: 'settings', full: false, reproject: true });
}

/**
 * After a round released its lease: if syncs were requested while it ran (coalesced into the lease's
 * dirty mark), one more round, full if any of them asked for a full reconciliation.
 */
export async function requestFollowUp(
  deps: PipelineDeps,
  request: Pick<SyncRequest, 'tenantId' | 'trigger'>,
  released: Released,
): Promise<void> {
  if (!released.again) return;
  const trigger = request.trigger === 'initial' ? 'schedule' : request.trigger;
  await requestSync(deps, request.tenantId, trigger, released.full, released.requestIds ?? []);
}

/**
 * The scheduler's decision: which connections are due (their schedule says so): each gets a sync
 * request. A due round is requested before its next due time is saved, so a crash between the two
 * writes never skips it. (A round whose fetcher died is the watchdog's: see watch-runs.ts.)
 */
export async function requestDueRounds(deps: PipelineDeps): Promise<{ due: string[] }> {
  const now = deps.now();
  const due: string[] = [];
  for (const connection of await deps.connections.list()) {
    const { tenantId, schedule, enabled } = connection.settings;
    if (!enabled) continue;
    // Held changes never expire silently: past their lifetime the run says `expired`, and everyone is
    // planned again from the mirror.
    if ((await expireHeldRuns(deps, tenantId, connection.settings.policy.gate.heldLifetimeDays)) > 0) {
      await requestReproject(deps, tenantId);
    }
    const dueAt = connection.nextDueAt === '' ? null : new Date(connection.nextDueAt);
    if (dueAt === null) {
      const next = nextDueAfter(schedule, now);
      if (next) await deps.connections.advanceDue(connection, next);
      continue;
    }
    if (dueAt.getTime() > now.getTime()) continue;
    // Request first, then move the due time: a crash between the two asks again on the next tick
    // (the duplicate is coalesced by the round lease) instead of skipping the round.
    await requestSync(deps, tenantId, 'schedule');
    due.push(tenantId);
    await deps.connections.advanceDue(connection, nextDueAfter(schedule, now));
  }
  return { due };
}
