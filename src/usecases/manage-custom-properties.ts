import { type CustomPropertyDefinition, mappingsUsing } from '../domain/custom-property.js';
import type { ApiDeps } from './api-deps.js';
import { type ApiResult, ok, refuse } from './api-result.js';

/**
 * The app's custom property definitions (GET/PUT /api/custom-properties), each with a type values
 * are coerced to. The whole list is replaced at once; a definition a saved mapping of the connection
 * still writes cannot be deleted (409 naming the mappings).
 */
export async function listCustomProperties(
  deps: ApiDeps,
  tenantId: string,
): Promise<ApiResult<{ properties: CustomPropertyDefinition[] }>> {
  const properties = await deps.customProperties.list(tenantId);
  return ok({ properties: properties.sort((a, b) => a.name.localeCompare(b.name)) });
}

export async function replaceCustomProperties(
  deps: ApiDeps,
  tenantId: string,
  definitions: readonly CustomPropertyDefinition[],
): Promise<ApiResult<{ properties: CustomPropertyDefinition[] }>> {
  const connection = await deps.pipeline.connections.get(tenantId);
  if (!connection) return refuse(404, `no connection for tenant ${tenantId}`);
  const kept = new Set(definitions.map((d) => d.name));
  const removed = new Set(
    (await deps.customProperties.list(tenantId)).map((d) => d.name).filter((name) => !kept.has(name)),
  );
  const policy = connection.settings.policy;
  const using = mappingsUsing(policy, removed);
  if (using.length > 0) {
    return refuse(409, 'a saved mapping still writes a custom property this list deletes', {
      details: {
        mappings: using.map((mapping) => ({ index: policy.mappings.indexOf(mapping), ...mapping })),
      },
    });
  }
  await deps.customProperties.replaceAll(tenantId, definitions);
  return listCustomProperties(deps, tenantId);
}
