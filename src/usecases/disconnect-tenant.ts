import type { PurgeReport } from '../adapters/storage/tenant-purge.js';
import { type ApiResult, ok, refuse } from './api-result.js';
import { maintainSubscriptions } from './maintain-subscriptions.js';
import type { NotificationDeps } from './notification-deps.js';
import type { Logger } from './pipeline-deps.js';

/** Deletes everything a tenant left in storage (tables and blobs), the connection row excepted. */
export interface TenantDataPurge {
  purge(tenantId: string): Promise<PurgeReport>;
  /** Deletes the connection row itself. */
  removeConnection(tenantId: string): Promise<void>;
}

export interface DisconnectResult {
  readonly tenantId: string;
  /** The connection is disabled: no scheduled round, no notification round, no subscription. */
  readonly disabled: true;
  readonly subscriptionsRemoved: number;
  /** With purge: what was deleted, and the connection row is gone too. */
  readonly purged?: PurgeReport;
}

/**
 * Disconnects a tenant: the connection is disabled first (the scheduler and the webhook stop asking
 * for rounds, a requested round is refused), then its Graph subscriptions are deleted (at Graph, their
 * clientStates in Key Vault, their rows). Its data is kept unless `purge`: then every row and blob of
 * the tenant is deleted, and the connection row last. Connecting it again later starts from a full
 * round either way.
 */
export async function disconnectTenant(
  deps: NotificationDeps,
  purger: TenantDataPurge,
  tenantId: string,
  options: { readonly purge: boolean },
  log: Logger,
): Promise<ApiResult<DisconnectResult>> {
  const { connections } = deps.pipeline;
  let stored = await connections.get(tenantId);
  if (!stored) return refuse(404, `no connection for tenant ${tenantId}`);
  for (let attempt = 0; stored.settings.enabled; attempt += 1) {
    if (attempt === 5) throw new Error(`connection ${tenantId} kept changing while it was disabled`);
    if (await connections.replace(stored, { ...stored.settings, enabled: false }, null)) break;
    stored = await connections.get(tenantId);
    if (!stored) return refuse(404, `no connection for tenant ${tenantId}`);
  }
  const report = await maintainSubscriptions(deps, log, { tenantId });
  log.info('tenant disconnected', { tenantId, subscriptionsRemoved: report.removed, purge: options.purge });
  if (!options.purge) {
    return ok({ tenantId, disabled: true, subscriptionsRemoved: report.removed });
  }
  const purged = await purger.purge(tenantId);
  await purger.removeConnection(tenantId);
  // The connection is gone: what is left of its subscriptions (a status row) goes with it.
  const after = await maintainSubscriptions(deps, log, { tenantId });
  log.info('tenant data purged', { tenantId, blobs: purged.blobs, tables: Object.keys(purged.rows).length });
  return ok({ tenantId, disabled: true, subscriptionsRemoved: report.removed + after.removed, purged });
}
