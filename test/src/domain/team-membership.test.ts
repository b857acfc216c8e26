import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { MirrorEdge } from '../../../src/domain/directory.js';
import { teamGroupsOf } from '../../../src/domain/team-membership.js';

const MEMBER = '87d349ed-44d7-43e1-9a83-5f2406dee5bd';

function edge(groupId: string, overrides: Partial<MirrorEdge> = {}): MirrorEdge {
  return { groupId, memberId: MEMBER, memberType: 'user', present: true, version: 'v', ...overrides };
}

const edgeArb: fc.Arbitrary<MirrorEdge> = fc.record({
  groupId: fc.constantFrom('g-1', 'g-2', 'g-3', 'g-4'),
  memberId: fc.constant(MEMBER),
  memberType: fc.constantFrom('user' as const, 'group' as const),
  present: fc.boolean(),
  version: fc.constant('v'),
});

describe('teamGroupsOf', () => {
  it('lists the groups of the present user edges, sorted and without duplicates', () => {
    expect(teamGroupsOf([edge('g-2'), edge('g-1'), edge('g-2')], true)).toEqual(['g-1', 'g-2']);
  });

  it('leaves out removed edges and group-in-group edges', () => {
    expect(
      teamGroupsOf([edge('g-1', { present: false }), edge('g-2', { memberType: 'group' })], true),
    ).toEqual([]);
  });

  it('gives no team to a person out of scope, whatever its edges', () => {
    fc.assert(
      fc.property(fc.array(edgeArb), (edges) => {
        expect(teamGroupsOf(edges, false)).toEqual([]);
      }),
    );
  });

  it('for any edges: a group is listed exactly when some present user edge names it', () => {
    fc.assert(
      fc.property(fc.array(edgeArb), (edges) => {
        const groups = teamGroupsOf(edges, true);
        const expected = new Set(
          edges.filter((e) => e.present && e.memberType === 'user').map((e) => e.groupId),
        );
        expect(new Set(groups)).toEqual(expected);
        expect(groups).toHaveLength(expected.size);
        expect([...groups].sort()).toEqual(groups);
      }),
    );
  });

  it('does not depend on the order of the edges', () => {
    fc.assert(
      fc.property(fc.array(edgeArb), (edges) => {
        expect(teamGroupsOf([...edges].reverse(), true)).toEqual(teamGroupsOf(edges, true));
      }),
    );
  });
});
