import type { JsonValue, MirrorUser } from './directory.js';

/**
 * Reads a mapping's or a filter's source from the mirror: a user property by its Graph name, an
 * `onPremisesExtensionAttributes.extensionAttributeN`, a directory extension or a
 * `customSecurityAttributes.<set>.<attribute>`. Absent = null (Graph leaves out null properties).
 */
export function readUserPath(user: MirrorUser, path: string): JsonValue {
  if (path === 'id') return user.id;
  const facts = user.facts;
  if (!facts) return null;
  if (path.toLowerCase().startsWith('extension_')) {
    // Directory extension names ignore case (the filter reads them lower-cased).
    const wanted = path.toLowerCase();
    for (const [name, value] of Object.entries(facts.more ?? {}))
      if (name.toLowerCase() === wanted) return value;
    return null;
  }
  if (path.startsWith('onPremisesExtensionAttributes.')) {
    return facts.onPremisesExtensionAttributes?.[path.slice('onPremisesExtensionAttributes.'.length)] ?? null;
  }
  if (path.startsWith('customSecurityAttributes.')) {
    const [set, attribute] = path.slice('customSecurityAttributes.'.length).split('.');
    return user.securityAttributes?.[set ?? '']?.[attribute ?? ''] ?? null;
  }
  const own = (facts as unknown as Record<string, JsonValue | undefined>)[path];
  if (own !== undefined && path !== 'more' && path !== 'onPremisesExtensionAttributes') return own;
  return facts.more?.[path] ?? null;
}
