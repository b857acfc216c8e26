import type { MirrorUser } from './directory.js';
import { passesEmailRules } from './email-rules.js';
import type { Policy } from './policy.js';
import { matchesUserFilter, type UserFilter } from './user-filter.js';
import { readUserPath } from './user-paths.js';

/**
 * Decides whether an Entra user belongs in the app's directory, and says why: a member (never a
 * guest, never an `#EXT#` account), enabled, not deleted; then the admin's rules in order: a member
 * of a scope group (transitively: `scopeGroups` is the closure of the policy's groups), the
 * `$filter`, the email include and exclude rules.
 */
export interface ScopeRules {
  readonly policy: Policy;
  /** The scope groups and every group nested in them (null: the policy names no group). */
  readonly scopeGroups: ReadonlySet<string> | null;
  /** Deleted groups make no member in scope. */
  readonly deletedGroups: ReadonlySet<string>;
  /** The policy's `$filter`, parsed (null: none). */
  readonly filter: UserFilter | null;
}

export interface ScopeDecision {
  readonly inScope: boolean;
  readonly rule: string;
}

export function decideScope(user: MirrorUser | undefined, rules: ScopeRules): ScopeDecision {
  const out = (rule: string): ScopeDecision => ({ inScope: false, rule: `scope: ${rule}` });
  if (!user) return out('unknown to Entra');
  if (user.deleted === 'hard') return out('deleted in Entra');
  if (user.deleted === 'soft') return out('deleted in Entra (restorable for 30 days)');
  if (!user.facts) return out('not described by Graph yet');
  const { accountEnabled, userType, userPrincipalName, mail } = user.facts;
  if (userType !== 'Member' || userPrincipalName?.toUpperCase().includes('#EXT#')) {
    return out('a guest account');
  }
  if (accountEnabled !== true) return out('account disabled');
  const { scope } = rules.policy;
  if (rules.scopeGroups) {
    const member = Object.entries(user.memberships).find(
      ([groupId, m]) => m.present && rules.scopeGroups!.has(groupId) && !rules.deletedGroups.has(groupId),
    );
    if (!member) return out('not a member of any scope group');
  }
  if (rules.filter && !matchesUserFilter(rules.filter, (path) => readUserPath(user, path))) {
    return out('does not match the filter');
  }
  if (
    !passesEmailRules({ include: scope.emailInclude, exclude: scope.emailExclude }, mail, userPrincipalName)
  ) {
    return out('excluded by the email rules');
  }
  return { inScope: true, rule: 'scope: in scope' };
}
