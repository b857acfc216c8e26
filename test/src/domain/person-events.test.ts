import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { PersonRecord } from '../../../src/domain/person.js';
import {
  changeTime,
  feedEventsOf,
  feedKey,
  observe,
  personEvents,
  teamEvents,
  viewOf,
} from '../../../src/domain/person-events.js';
import { PERSON_STATUSES } from '../../../src/domain/person-status.js';
import { PERSON_FIELDS } from '../../../src/domain/policy.js';

const PERSON = '0b7a0d55-0d0c-5a4e-9d0e-2f8b3c1d9e01';
const TEAMS = ['team-a', 'team-b', 'team-c', 'team-d'];

const personArb: fc.Arbitrary<PersonRecord> = fc
  .record({
    values: fc.record(
      Object.fromEntries(
        PERSON_FIELDS.map((f) => [f, fc.option(fc.constantFrom('x', 'y', 'z'), { nil: null })]),
      ) as Record<(typeof PERSON_FIELDS)[number], fc.Arbitrary<string | null>>,
    ),
    status: fc.constantFrom(...PERSON_STATUSES),
    managerId: fc.option(fc.constantFrom('m1', 'm2'), { nil: null }),
    custom: fc.dictionary(
      fc.constantFrom('cost', 'level', 'tags'),
      fc.oneof(
        fc.constantFrom('a', 'b'),
        fc.integer({ min: 0, max: 2 }),
        fc.constant(null),
        fc.constant(['t']),
      ),
    ),
    teams: fc.subarray(TEAMS),
    history: fc.constant([]),
    synced: fc.dictionary(fc.constantFrom('displayName', 'email'), fc.constantFrom('s1', 's2')),
    updatedAt: fc.constantFrom('2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z'),
  })
  .map(({ values, ...rest }) => ({
    ...values,
    ...rest,
    personId: PERSON,
    origin: 'entra' as const,
    sourceObjectId: 'user-1',
    previousStatus: null,
    entraManagerId: null,
    managerProblem: null,
    createdAt: '2026-01-01T00:00:00.000Z',
  }));

describe('person events', () => {
  it('replaying the events of a change on what the app saw before gives what it sees after', () => {
    fc.assert(
      fc.property(fc.option(personArb, { nil: undefined }), personArb, (before, after) => {
        expect(observe(before ? viewOf(before) : undefined, personEvents(before, after))).toEqual(
          viewOf(after),
        );
      }),
    );
  });

  it('the events of a→b then b→c tell what a person observes from a to c', () => {
    fc.assert(
      fc.property(personArb, personArb, personArb, (a, b, c) => {
        const seen = observe(observe(viewOf(a), personEvents(a, b)), personEvents(b, c));
        expect(seen).toEqual(viewOf(c));
        expect(seen).toEqual(observe(viewOf(a), personEvents(a, c)));
      }),
    );
  });

  it('no event when nothing the app sees changed (bookkeeping alone is not a change)', () => {
    fc.assert(
      fc.property(personArb, fc.constantFrom('2027-01-01T00:00:00.000Z'), (a, later) => {
        expect(personEvents(a, a)).toEqual([]);
        expect(personEvents(a, { ...a, updatedAt: later, synced: { other: 'v' }, history: [] })).toEqual([]);
      }),
    );
  });

  it('a creation is one person.created carrying its teams; a leave and a return are named', () => {
    fc.assert(
      fc.property(personArb, (a) => {
        const created = personEvents(undefined, a);
        expect(created).toHaveLength(1);
        expect(created[0]).toMatchObject({ type: 'person.created', teams: [...a.teams].sort() });
      }),
    );
    const base = fc.sample(personArb, { numRuns: 1, seed: 3 })[0]!;
    const active = { ...base, status: 'active' as const };
    expect(personEvents(active, { ...active, status: 'deactivated' }).map((e) => e.type)).toEqual([
      'person.deactivated',
    ]);
    expect(
      personEvents({ ...active, status: 'created' }, { ...active, status: 'removed' }).map((e) => e.type),
    ).toEqual(['person.removed']);
    expect(
      personEvents({ ...active, status: 'removed' }, { ...active, status: 'created' }).map((e) => e.type),
    ).toEqual(['person.reactivated']);
    const moved = personEvents(
      { ...active, teams: ['team-a'] },
      { ...active, teams: ['team-b'], jobTitle: 'CTO' },
    );
    expect(moved).toEqual([
      {
        type: 'person.updated',
        personId: PERSON,
        changes: [{ key: 'jobTitle', from: active.jobTitle, to: 'CTO' }],
      },
      { type: 'team.member_removed', personId: PERSON, teamId: 'team-a' },
      { type: 'team.member_added', personId: PERSON, teamId: 'team-b' },
    ]);
  });

  it('feed keys of one subject sort by sequence, even when the clock goes back', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 1, maxLength: 20 }),
        (offsets) => {
          let previous: string | undefined;
          let seq = 0;
          const keys: string[] = [];
          for (const offset of offsets) {
            const at = changeTime(new Date(Date.UTC(2026, 0, 1) + offset).toISOString(), previous);
            const events = feedEventsOf(
              'person',
              PERSON,
              [
                { type: 'person.updated', personId: PERSON, changes: [] },
                { type: 'team.member_added', personId: PERSON, teamId: 't' },
              ],
              {
                previousSeq: seq,
                at,
                runId: 'r',
              },
            );
            seq = events.at(-1)!.seq;
            previous = at;
            keys.push(...events.map((e) => e.key));
          }
          expect([...keys].sort()).toEqual(keys);
          expect(new Set(keys).size).toBe(keys.length);
        },
      ),
    );
    expect(feedKey('2026-01-01T00:00:00.000Z', PERSON, 12)).toBe(
      `2026-01-01T00:00:00.000Z_${PERSON}_0000000012`,
    );
  });

  it('team events: created, renamed, archived, brought back; none when unchanged', () => {
    const team = { teamId: 't', name: 'A', description: '', status: 'active' as const };
    expect(teamEvents(undefined, team).map((e) => e.type)).toEqual(['team.created']);
    expect(teamEvents(team, team)).toEqual([]);
    expect(teamEvents(team, { ...team, name: 'B' })).toEqual([
      { type: 'team.updated', teamId: 't', changes: [{ key: 'name', from: 'A', to: 'B' }] },
    ]);
    expect(teamEvents(team, { ...team, status: 'archived' }).map((e) => e.type)).toEqual(['team.archived']);
    expect(teamEvents({ ...team, status: 'archived' }, team)).toEqual([
      { type: 'team.updated', teamId: 't', changes: [{ key: 'status', from: 'archived', to: 'active' }] },
    ]);
  });
});
