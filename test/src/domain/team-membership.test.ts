import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { Membership } from '../../../src/domain/directory.js';
import { teamGroupsOf } from '../../../src/domain/team-membership.js';

const membershipsArb: fc.Arbitrary<Record<string, Membership>> = fc.dictionary(
  fc.constantFrom('g-1', 'g-2', 'g-3', 'g-4'),
  fc.record({ present: fc.boolean(), version: fc.constant('v') }),
);

describe('teamGroupsOf', () => {
  it('lists the groups of the present memberships, sorted', () => {
    const memberships = { 'g-2': { present: true, version: 'v' }, 'g-1': { present: true, version: 'v' } };
    expect(teamGroupsOf(memberships, true)).toEqual(['g-1', 'g-2']);
  });

  it('leaves out removed memberships', () => {
    expect(teamGroupsOf({ 'g-1': { present: false, version: 'v' } }, true)).toEqual([]);
  });

  it('gives no team to a person out of the directory, whatever its memberships', () => {
    fc.assert(
      fc.property(membershipsArb, (memberships) => {
        expect(teamGroupsOf(memberships, false)).toEqual([]);
      }),
    );
  });

  it('for any memberships: a group is listed exactly when its membership is present', () => {
    fc.assert(
      fc.property(membershipsArb, (memberships) => {
        const groups = teamGroupsOf(memberships, true);
        const expected = Object.entries(memberships)
          .filter(([, m]) => m.present)
          .map(([g]) => g);
        expect(new Set(groups)).toEqual(new Set(expected));
        expect([...groups].sort()).toEqual(groups);
      }),
    );
  });
});
