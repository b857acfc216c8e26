import { QUEUES } from '../adapters/storage/storage-names.js';
import { nextDueAfter } from '../domain/schedule.js';
import type { SyncRequest, Trigger } from './messages.js';
import type { PipelineDeps } from './pipeline-deps.js';

/** Asks for a round (the fetcher coalesces requests that arrive while one runs). */
export async function requestSync(
  deps: PipelineDeps,
  tenantId: string,
  trigger: Trigger,
  full = false,
): Promise<SyncRequest> {
  const request: SyncRequest = {
    type: 'sync-request',
    tenantId,
    trigger,
    full,
    requestedAt: deps.now().toISOString(),
  };
  await deps.queues.send(QUEUES.syncRequests, request);
  return request;
}

/**
 * The scheduler's decision: which connections are due (their schedule says so) and which have a
 * round whose fetcher died (lease expired with a checkpoint): each gets one sync request.
 */
export async function requestDueRounds(deps: PipelineDeps): Promise<{ due: string[]; resumed: string[] }> {
  const now = deps.now();
  const due: string[] = [];
  const resumed: string[] = [];
  for (const connection of await deps.connections.list()) {
    const { tenantId, schedule, enabled } = connection.settings;
    if (!enabled) continue;
    if (await deps.syncState.hasStalledRound(tenantId)) {
      await requestSync(deps, tenantId, 'schedule');
      resumed.push(tenantId);
      continue;
    }
    const dueAt = connection.nextDueAt === '' ? null : new Date(connection.nextDueAt);
    if (dueAt === null) {
      const next = nextDueAfter(schedule, now);
      if (next) await deps.connections.advanceDue(connection, next);
      continue;
    }
    if (dueAt.getTime() > now.getTime()) continue;
    if (await deps.connections.advanceDue(connection, nextDueAfter(schedule, now))) {
      await requestSync(deps, tenantId, 'schedule');
      due.push(tenantId);
    }
  }
  return { due, resumed };
}
