import { z } from 'zod';

/**
 * An Entra tenant id as the API takes it in a path (`/api/connections/{tenantId}/…`): a GUID, any case,
 * answered lower-cased (partition keys are case-sensitive, tenant ids are not). Anything else is a 400.
 */
export const tenantIdSchema = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'expected a GUID')
  .transform((id) => id.toLowerCase());

export function isTenantId(value: string): boolean {
  return tenantIdSchema.safeParse(value).success;
}
