import { EventStore } from '../adapters/storage/event-store.js';
import type { PipelineDeps } from './pipeline-deps.js';

/**
 * Retention of the app's feed: events older than `retentionDays` (SYNC_EVENTS_RETENTION_DAYS, 30)
 * are deleted, tenant by tenant, by the `events-retention` timer (hourly). The feed's keys begin with
 * the event's time, so each partition's old events are one RowKey range. An app that reads less
 * often than that starts again from a full read of people and teams.
 */
export async function pruneEvents(
  deps: PipelineDeps,
  retentionDays: number,
): Promise<{ tenantId: string; deleted: number }[]> {
  const cutoff = new Date(deps.now().getTime() - retentionDays * 24 * 60 * 60 * 1000).toISOString();
  const store = new EventStore(deps.tables, deps.buckets);
  const results: { tenantId: string; deleted: number }[] = [];
  for (const { settings } of await deps.connections.list()) {
    results.push({ tenantId: settings.tenantId, deleted: await store.prune(settings.tenantId, cutoff) });
  }
  return results;
}
