import type { Membership } from './directory.js';

/**
 * Decides which app teams a person belongs to: the Entra groups of which the user is a direct
 * member, while the person is in the directory (every group is synced as a team under the default
 * policy). Sorted, so an unchanged membership compares equal.
 */
export function teamGroupsOf(
  memberships: Readonly<Record<string, Membership>>,
  personActive: boolean,
): string[] {
  if (!personActive) return [];
  return Object.entries(memberships)
    .filter(([, membership]) => membership.present)
    .map(([groupId]) => groupId)
    .sort();
}
