import { TenantErrorLog } from '../adapters/storage/tenant-error-log.js';
import type { PipelineDeps } from './pipeline-deps.js';

/** The per-tenant error log on the invocation's tables (counted in its write meter). */
export function tenantErrorLog(deps: Pick<PipelineDeps, 'tables'>): TenantErrorLog {
  return new TenantErrorLog(deps.tables);
}
