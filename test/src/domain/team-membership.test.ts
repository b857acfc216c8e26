import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { Membership } from '../../../src/domain/directory.js';
import { teamIdFor } from '../../../src/domain/person-id.js';
import { MEMBER_MODES, type PolicyInput } from '../../../src/domain/policy.js';
import { isSyncedGroup, teamsOf } from '../../../src/domain/team-membership.js';
import { GROUPS, membershipsArb, membershipsOf, type Nesting, planContextOf, TENANT } from './arbitraries.js';

const [G1, G2, G3, G4] = GROUPS;
const team = (groupId: string): string => teamIdFor(TENANT, groupId);

function teams(
  memberships: Record<string, Membership>,
  policy: PolicyInput = {},
  nesting: Nesting = [],
  deleted: readonly string[] = [],
  inDirectory = true,
): string[] {
  return teamsOf(memberships, inDirectory, planContextOf(policy, { nesting, deletedGroups: deleted }).teams);
}

const teamsPolicyArb = fc.record({
  groupSync: fc.record({
    mode: fc.constantFrom('all' as const, 'selected' as const, 'none' as const),
    groups: fc.subarray([...GROUPS]),
    members: fc.constantFrom(...MEMBER_MODES),
  }),
  mappings: fc.array(
    fc.record({
      groupId: fc.constantFrom(...GROUPS),
      teamId: fc.constantFrom('team-sales', 'team-it', 'team-ops'),
      members: fc.constantFrom(...MEMBER_MODES),
    }),
    { maxLength: 3 },
  ),
});
const nestingArb = fc.array(fc.tuple(fc.constantFrom(...GROUPS), fc.constantFrom(...GROUPS)), {
  maxLength: 10,
});

describe('teamsOf under the default policy (every group a team, direct members)', () => {
  it('gives the team of each present membership, sorted', () => {
    expect(teams(membershipsOf([G2, G1]))).toEqual([team(G1), team(G2)].sort());
  });

  it('leaves out removed memberships and deleted groups, and does not follow nesting', () => {
    expect(teams(membershipsOf([G1], [G2]), {}, [[G3, G1]], [])).toEqual([team(G1)]);
    expect(teams(membershipsOf([G1, G2]), {}, [], [G2])).toEqual([team(G1)]);
  });
});

describe('teamsOf with group sync and team mapping', () => {
  it('transitive members: a member of a nested group is in the teams of the groups above it', () => {
    const policy = { teams: { groupSync: { mode: 'all' as const, members: 'transitive' as const } } };
    expect(
      teams(membershipsOf([G3]), policy, [
        [G1, G2],
        [G2, G3],
      ]),
    ).toEqual([team(G1), team(G2), team(G3)].sort());
  });

  it('a team mapping fills an existing app team from a group, direct or transitive', () => {
    const mappings = [
      { groupId: G1, teamId: 'team-sales', members: 'transitive' as const },
      { groupId: G4, teamId: 'team-it' },
    ];
    const policy = { teams: { groupSync: { mode: 'none' as const }, mappings } };
    expect(
      teams(membershipsOf([G2]), policy, [
        [G1, G2],
        [G4, G2],
      ]),
    ).toEqual(['team-sales']);
    expect(teams(membershipsOf([G4]), policy)).toEqual(['team-it']);
  });

  it('gives no team to a person out of the directory, whatever its memberships and the rules', () => {
    fc.assert(
      fc.property(membershipsArb, teamsPolicyArb, nestingArb, (memberships, policy, nesting) => {
        expect(teams(memberships, { teams: policy }, nesting, [], false)).toEqual([]);
      }),
    );
  });

  it('direct vs transitive group sync and team mapping equal an oracle (nesting with cycles, deleted groups)', () => {
    fc.assert(
      fc.property(
        membershipsArb,
        teamsPolicyArb,
        nestingArb,
        fc.subarray([...GROUPS]),
        (memberships, policy, nesting, deleted) => {
          const alive = (g: string): boolean => !deleted.includes(g);
          const direct = Object.entries(memberships)
            .filter(([g, m]) => m.present && alive(g))
            .map(([g]) => g);
          // Upward breadth-first search: the groups containing a direct group, through alive nesting.
          const above = new Set(direct);
          const queue = [...direct];
          while (queue.length > 0) {
            const child = queue.shift()!;
            for (const [parent, c] of nesting) {
              if (c === child && alive(parent) && !above.has(parent)) {
                above.add(parent);
                queue.push(parent);
              }
            }
          }
          const groupsBy = (mode: string): string[] => (mode === 'direct' ? direct : [...above]);
          const expected = new Set<string>();
          const sync = policy.groupSync;
          if (sync.mode !== 'none') {
            for (const g of groupsBy(sync.members)) {
              if (sync.mode === 'all' || sync.groups.includes(g)) expected.add(team(g));
            }
          }
          for (const m of policy.mappings)
            if (groupsBy(m.members).includes(m.groupId)) expected.add(m.teamId);

          const actual = teams(memberships, { teams: policy }, nesting, deleted);
          expect(actual).toEqual([...expected].sort());
          // Deleted groups never give a team.
          for (const g of deleted) expect(actual).not.toContain(team(g));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('isSyncedGroup', () => {
  it('says whether group sync makes a group a team of its own', () => {
    const policy = (input: PolicyInput) => planContextOf(input).policy.teams;
    expect(isSyncedGroup(policy({}), G1)).toBe(true);
    expect(isSyncedGroup(policy({ teams: { groupSync: { mode: 'none' } } }), G1)).toBe(false);
    const selected = policy({ teams: { groupSync: { mode: 'selected', groups: [G1] } } });
    expect(isSyncedGroup(selected, G1)).toBe(true);
    expect(isSyncedGroup(selected, G2)).toBe(false);
  });

  it('agrees with teamsOf: a present direct membership of a synced group gives its team', () => {
    fc.assert(
      fc.property(teamsPolicyArb, fc.constantFrom(...GROUPS), (policy, g) => {
        const ctx = planContextOf({ teams: { ...policy, mappings: [] } });
        expect(teamsOf(membershipsOf([g]), true, ctx.teams).includes(team(g))).toBe(
          isSyncedGroup(ctx.policy.teams, g),
        );
      }),
    );
  });
});
