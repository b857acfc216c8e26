import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { isUserInScope } from '../../../src/domain/scope.js';
import { mirrorUserArb, userOf } from './arbitraries.js';

describe('isUserInScope', () => {
  it('accepts an enabled member that is not deleted', () => {
    expect(isUserInScope(userOf())).toBe(true);
  });

  it('refuses a guest, an #EXT# account in any case, and a userType that is not exactly Member', () => {
    expect(isUserInScope(userOf({}, { userType: 'Guest' }))).toBe(false);
    expect(isUserInScope(userOf({}, { userType: null }))).toBe(false);
    expect(
      isUserInScope(userOf({}, { userPrincipalName: 'adele_contoso.com#EXT#@fabrikam.onmicrosoft.com' })),
    ).toBe(false);
    expect(
      isUserInScope(userOf({}, { userPrincipalName: 'adele_contoso.com#ext#@fabrikam.onmicrosoft.com' })),
    ).toBe(false);
  });

  it('refuses a disabled account and one whose accountEnabled is unknown', () => {
    expect(isUserInScope(userOf({}, { accountEnabled: false }))).toBe(false);
    expect(isUserInScope(userOf({}, { accountEnabled: null }))).toBe(false);
  });

  it('refuses a soft- or hard-deleted user, a user without facts, and no user', () => {
    expect(isUserInScope(userOf({ deleted: 'soft' }))).toBe(false);
    expect(isUserInScope(userOf({ deleted: 'hard' }))).toBe(false);
    expect(isUserInScope(userOf({ facts: null }))).toBe(false);
    expect(isUserInScope(undefined)).toBe(false);
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
        expect(isUserInScope(user)).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });
});
