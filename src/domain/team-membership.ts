import type { MirrorEdge } from './directory.js';

/**
 * Decides which app teams a person belongs to: the Entra groups of which the user is a direct
 * member, while the person is in scope (every group is synced as a team under the default policy).
 */
export function teamGroupsOf(edges: readonly MirrorEdge[], personInScope: boolean): string[] {
  if (!personInScope) return [];
  const groups = new Set<string>();
  for (const edge of edges) {
    if (edge.present && edge.memberType === 'user') groups.add(edge.groupId);
  }
  return [...groups].sort();
}
