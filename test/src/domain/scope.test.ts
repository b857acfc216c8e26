import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { MirrorUser } from '../../../src/domain/directory.js';
import type { PolicyInput } from '../../../src/domain/policy.js';
import { decideScope } from '../../../src/domain/scope.js';
import {
  GROUPS,
  membershipsArb,
  membershipsOf,
  mirrorUserArb,
  type Nesting,
  planContextOf,
  userOf,
} from './arbitraries.js';

const [G1, G2, G3, G4] = GROUPS;

function inScope(
  user: MirrorUser | undefined,
  policy: PolicyInput = {},
  nesting: Nesting = [],
  deleted: string[] = [],
) {
  return decideScope(user, planContextOf(policy, { nesting, deletedGroups: deleted }).scope);
}

describe('decideScope under the default policy', () => {
  it('accepts an enabled member that is not deleted, and says so', () => {
    expect(inScope(userOf())).toEqual({ inScope: true, rule: 'scope: in scope' });
  });

  it('refuses a guest, an #EXT# account in any case, and a userType that is not exactly Member', () => {
    for (const facts of [
      { userType: 'Guest' },
      { userType: null },
      { userType: 'member' },
      { userPrincipalName: 'adele_contoso.com#EXT#@fabrikam.onmicrosoft.com' },
      { userPrincipalName: 'adele_contoso.com#ext#@fabrikam.onmicrosoft.com' },
    ]) {
      expect(inScope(userOf({}, facts))).toEqual({ inScope: false, rule: 'scope: a guest account' });
    }
  });

  it('refuses a disabled account and one whose accountEnabled is unknown', () => {
    expect(inScope(userOf({}, { accountEnabled: false })).rule).toBe('scope: account disabled');
    expect(inScope(userOf({}, { accountEnabled: null })).inScope).toBe(false);
  });

  it('refuses a soft- or hard-deleted user, a user without facts, and no user, each with its reason', () => {
    expect(inScope(userOf({ deleted: 'soft' })).rule).toBe(
      'scope: deleted in Entra (restorable for 30 days)',
    );
    expect(inScope(userOf({ deleted: 'hard' })).rule).toBe('scope: deleted in Entra');
    expect(inScope(userOf({ facts: null })).rule).toBe('scope: not described by Graph yet');
    expect(inScope(undefined).rule).toBe('scope: unknown to Entra');
  });

  it('is in scope exactly when member, enabled, not deleted and without #EXT# (any user)', () => {
    fc.assert(
      fc.property(mirrorUserArb(), (user) => {
        const expected =
          user.deleted === null &&
          user.facts !== null &&
          user.facts.userType === 'Member' &&
          user.facts.accountEnabled === true &&
          !(user.facts.userPrincipalName ?? '').toLowerCase().includes('#ext#');
        expect(inScope(user).inScope).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });
});

describe('decideScope with the admin rules', () => {
  it('takes members of a scope group, and of a group nested in it at any depth', () => {
    const policy = { scope: { groups: [G1] } };
    const nesting: Nesting = [
      [G1, G2],
      [G2, G3],
    ];
    expect(inScope(userOf({ memberships: membershipsOf([G3]) }), policy, nesting).inScope).toBe(true);
    expect(inScope(userOf({ memberships: membershipsOf([G4]) }), policy, nesting)).toEqual({
      inScope: false,
      rule: 'scope: not a member of any scope group',
    });
    expect(inScope(userOf({ memberships: membershipsOf([], [G1]) }), policy, nesting).inScope).toBe(false);
  });

  it('a deleted group neither makes its members in scope nor passes on its nesting', () => {
    const policy = { scope: { groups: [G1] } };
    const nesting: Nesting = [
      [G1, G2],
      [G2, G3],
    ];
    expect(inScope(userOf({ memberships: membershipsOf([G2]) }), policy, nesting, [G2]).inScope).toBe(false);
    expect(inScope(userOf({ memberships: membershipsOf([G3]) }), policy, nesting, [G2]).inScope).toBe(false);
    expect(inScope(userOf({ memberships: membershipsOf([G1]) }), policy, nesting, [G1]).inScope).toBe(false);
  });

  it('applies the $filter and the email rules after the groups', () => {
    expect(inScope(userOf(), { scope: { filter: "department eq 'Sales'" } }).rule).toBe(
      'scope: does not match the filter',
    );
    expect(inScope(userOf(), { scope: { filter: "department eq 'retail'" } }).inScope).toBe(true);
    expect(inScope(userOf(), { scope: { emailExclude: ['ADELEV@'] } }).rule).toBe(
      'scope: excluded by the email rules',
    );
    expect(inScope(userOf(), { scope: { emailInclude: ['@fabrikam.com'] } }).inScope).toBe(false);
  });

  it('transitive scope: a user is in scope iff one of its present memberships is in the closure of the scope groups (BFS oracle, nesting with cycles)', () => {
    const edgeArb = fc.tuple(fc.constantFrom(...GROUPS), fc.constantFrom(...GROUPS));
    fc.assert(
      fc.property(
        fc.array(edgeArb, { maxLength: 12 }),
        fc.subarray([...GROUPS]),
        fc.subarray([...GROUPS], { minLength: 1, maxLength: 3 }),
        membershipsArb,
        (nesting, deleted, scopeGroups, memberships) => {
          // The oracle: a plain breadth-first search down the alive nesting, from the alive scope groups.
          const alive = (g: string): boolean => !deleted.includes(g);
          const reached = new Set<string>(scopeGroups.filter(alive));
          const queue = [...reached];
          while (queue.length > 0) {
            const parent = queue.shift()!;
            for (const [p, child] of nesting) {
              if (p === parent && alive(child) && !reached.has(child)) {
                reached.add(child);
                queue.push(child);
              }
            }
          }
          const expected = Object.entries(memberships).some(([g, m]) => m.present && reached.has(g));
          const decision = inScope(
            userOf({ memberships }),
            { scope: { groups: scopeGroups } },
            nesting,
            deleted,
          );
          expect(decision.inScope).toBe(expected);
        },
      ),
      { numRuns: 500 },
    );
  });
});
