import { z } from 'zod';

import { CUSTOM_PROPERTY_TYPES } from './coerce.js';
import type { Mapping, Policy } from './policy.js';

/**
 * The app's custom property definitions (GET/PUT /api/custom-properties): a name (as mappings name it,
 * `target.customProperty`) and a type values are coerced to (coerce.ts). A definition a saved mapping
 * uses cannot be deleted.
 */
export const customPropertyDefinitionSchema = z
  .object({
    /** The same names a mapping's `target.customProperty` accepts (policy.ts). */
    name: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'expected a custom property name (letters, digits, _)'),
    type: z.enum(CUSTOM_PROPERTY_TYPES),
    description: z.string().max(1_000).optional(),
  })
  .strict();
export type CustomPropertyDefinition = z.infer<typeof customPropertyDefinitionSchema>;

export const customPropertyListSchema = z
  .array(customPropertyDefinitionSchema)
  .max(200)
  .superRefine((list, context) => {
    const seen = new Set<string>();
    list.forEach((definition, index) => {
      if (seen.has(definition.name)) {
        context.addIssue({
          code: 'custom',
          path: [index, 'name'],
          message: `${definition.name} is defined twice`,
        });
      }
      seen.add(definition.name);
    });
  });

/** The policy's mappings that write one of these custom properties. */
export function mappingsUsing(policy: Policy, names: ReadonlySet<string>): Mapping[] {
  return policy.mappings.filter(
    (mapping) => 'customProperty' in mapping.target && names.has(mapping.target.customProperty),
  );
}
