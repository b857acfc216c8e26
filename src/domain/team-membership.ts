import type { Membership } from './directory.js';
import { descendantsOf, type GroupGraph } from './group-closure.js';
import type { Policy } from './policy.js';

/**
 * Decides which app teams a person belongs to, while it is in the directory: group sync (every Entra
 * group, or the chosen ones, as a team of its own) and team mapping (an Entra group filling an
 * existing app team), each with direct or transitive members. A deleted group makes no member, and
 * its nesting no longer counts. Sorted, so an unchanged membership compares equal.
 */
export interface TeamRules {
  readonly teams: Policy['teams'];
  readonly deletedGroups: ReadonlySet<string>;
  /** Nested groups turned around (child → the groups containing it), deleted groups left out. */
  readonly parents: GroupGraph;
  /** The app team synced from an Entra group (group sync). */
  readonly teamIdForGroup: (groupId: string) => string;
}

export function teamsOf(
  memberships: Readonly<Record<string, Membership>>,
  inDirectory: boolean,
  rules: TeamRules,
): string[] {
  if (!inDirectory) return [];
  const direct = Object.entries(memberships)
    .filter(([groupId, membership]) => membership.present && !rules.deletedGroups.has(groupId))
    .map(([groupId]) => groupId);
  if (direct.length === 0) return [];
  let transitive: Set<string> | undefined;
  const groupsOf = (mode: 'direct' | 'transitive'): ReadonlySet<string> | readonly string[] =>
    mode === 'direct' ? direct : (transitive ??= descendantsOf(rules.parents, direct));
  const teams = new Set<string>();
  const { groupSync, mappings } = rules.teams;
  if (groupSync.mode !== 'none') {
    const chosen = groupSync.mode === 'selected' ? new Set(groupSync.groups) : undefined;
    for (const groupId of groupsOf(groupSync.members)) {
      if (!chosen || chosen.has(groupId)) teams.add(rules.teamIdForGroup(groupId));
    }
  }
  for (const mapping of mappings) {
    const groups = groupsOf(mapping.members);
    const member = Array.isArray(groups)
      ? groups.includes(mapping.groupId)
      : (groups as Set<string>).has(mapping.groupId);
    if (member) teams.add(mapping.teamId);
  }
  return [...teams].sort();
}

/** Whether group sync makes this Entra group a team of its own. */
export function isSyncedGroup(teams: Policy['teams'], groupId: string): boolean {
  if (teams.groupSync.mode === 'none') return false;
  return teams.groupSync.mode === 'all' || teams.groupSync.groups.includes(groupId);
}
