import type { Membership } from './directory.js';

/**
 * Decides which app teams a person belongs to: the Entra groups of which the user is a direct
 * member, while the person is in the directory, leaving out deleted groups (whose memberships the
 * mirror keeps as Graph last described them: a membership that arrives after its group's deletion
 * stays out of the team). Every group is synced as a team under the default policy. Sorted, so an
 * unchanged membership compares equal.
 */
export function teamGroupsOf(
  memberships: Readonly<Record<string, Membership>>,
  personActive: boolean,
  groupDeleted: (groupId: string) => boolean = () => false,
): string[] {
  if (!personActive) return [];
  return Object.entries(memberships)
    .filter(([groupId, membership]) => membership.present && !groupDeleted(groupId))
    .map(([groupId]) => groupId)
    .sort();
}
