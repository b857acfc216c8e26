import { QUEUES } from '../adapters/storage/storage-names.js';
import { type TenantError, TenantErrorLog } from '../adapters/storage/tenant-error-log.js';
import type { RunEvent } from './messages.js';
import type { PipelineDeps } from './pipeline-deps.js';

/** The per-tenant error log on the invocation's tables (counted in its write meter). */
export function tenantErrorLog(deps: Pick<PipelineDeps, 'tables'>): TenantErrorLog {
  return new TenantErrorLog(deps.tables);
}

/** A run event (`fetch-done`, `check`) for a run that does not exist: said on its tenant's log. */
export async function noteEventForUnknownRun(deps: PipelineDeps, event: RunEvent): Promise<void> {
  await tenantErrorLog(deps).record(event.tenantId, {
    category: 'invalid-data',
    message: `${event.type} event for an unknown run ${event.runId} (runKey ${event.runKey}): ignored`,
    source: `event:${QUEUES.runEvents}`,
    at: deps.now().toISOString(),
    body: JSON.stringify(event),
  });
}

/** The newest entries of a tenant's error log (what belongs to no run). */
export async function describeTenantErrors(
  deps: Pick<PipelineDeps, 'tables'>,
  tenantId: string,
  top: number,
): Promise<TenantError[]> {
  return tenantErrorLog(deps).list(tenantId, top);
}
