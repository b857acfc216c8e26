import { bucketCountProblem } from '../domain/bucket.js';
import { isTenantId } from '../domain/tenant-id.js';
import type { ApiResult } from './api-result.js';
import { ok, refuse } from './api-result.js';
import type { PipelineDeps } from './pipeline-deps.js';

/**
 * The connection an app-side route works on (the app's directory is per connection): the one named
 * by the `tenantId` query parameter, or the only one; required when more than one exists. 409 while
 * SYNC_BUCKETS differs from the count the tenant's rows are partitioned by (every row would be looked
 * for, or made, in another partition).
 */
export async function resolveAppTenant(
  deps: PipelineDeps,
  tenantId: string | undefined,
): Promise<ApiResult<string>> {
  if (tenantId !== undefined) {
    if (!isTenantId(tenantId)) return notAGuid('invalid query');
    const id = tenantId.toLowerCase();
    if (!(await deps.connections.get(id))) return refuse(404, `no connection for tenant ${tenantId}`);
    return partitionedAsConfigured(deps, id);
  }
  const connections = await deps.connections.list();
  if (connections.length === 0) return refuse(404, 'no connection exists');
  if (connections.length > 1) {
    return refuse(400, 'invalid query', {
      issues: [{ path: 'tenantId', message: `required: ${connections.length} connections exist` }],
    });
  }
  return partitionedAsConfigured(deps, connections[0]!.settings.tenantId);
}

async function partitionedAsConfigured(deps: PipelineDeps, tenantId: string): Promise<ApiResult<string>> {
  const { cursor } = await deps.syncState.readCursor(tenantId);
  const problem = bucketCountProblem(cursor.buckets, deps.buckets);
  return problem ? refuse(409, problem) : ok(tenantId);
}

/**
 * A connection the route names by its path (`/api/connections/{tenantId}/…`): 400 (field path
 * `tenantId`) when the id is not a GUID, 404 when no connection has it. Every such route calls it first.
 * `writesPeople`: a route that writes the tenant's people (approving a held run, resolving a dispute)
 * is also refused with 409 while SYNC_BUCKETS differs from the tenant's partitioning.
 */
export async function requireConnection(
  deps: PipelineDeps,
  tenantId: string,
  options: { writesPeople?: boolean } = {},
): Promise<ApiResult<string>> {
  if (!isTenantId(tenantId)) return notAGuid('invalid path');
  const id = tenantId.toLowerCase();
  if (!(await deps.connections.get(id))) return refuse(404, `no connection for tenant ${tenantId}`);
  return options.writesPeople ? partitionedAsConfigured(deps, id) : ok(id);
}

function notAGuid(error: string): ApiResult<never> {
  return refuse(400, error, { issues: [{ path: 'tenantId', message: 'expected a GUID' }] });
}
