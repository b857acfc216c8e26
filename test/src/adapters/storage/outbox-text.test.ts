import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { packOutbox, unpackOutbox } from '../../../../src/adapters/storage/outbox-text.js';
import {
  type FeedEvent,
  feedEventsOf,
  feedKey,
  type PersonEvent,
} from '../../../../src/domain/person-events.js';

const AT = '2026-12-05T09:00:00.000Z';
const LATER = '2026-12-05T09:05:00.000Z';

const personBody = (personId: string): fc.Arbitrary<PersonEvent> =>
  fc.oneof(
    fc.record({
      type: fc.constantFrom('team.member_added' as const, 'team.member_removed' as const),
      personId: fc.constant(personId),
      teamId: fc.uuid(),
    }),
    fc.record({
      type: fc.constant('person.updated' as const),
      personId: fc.constant(personId),
      changes: fc.array(
        fc.record({ key: fc.constantFrom('displayName', 'jobTitle'), from: fc.string(), to: fc.string() }),
        { maxLength: 2 },
      ),
    }),
    fc.record({
      type: fc.constant('person.deactivated' as const),
      personId: fc.constant(personId),
      status: fc.constant('deactivated' as const),
      previousStatus: fc.constant('active' as const),
    }),
  );

/** A change's events, as feedEventsOf makes them, some given a later time as recoverOutboxes does. */
const outboxes = fc
  .record({ personId: fc.uuid(), runId: fc.uuid(), previousSeq: fc.nat(1000) })
  .chain(({ personId, runId, previousSeq }) =>
    fc.record({
      events: fc
        .array(personBody(personId), { minLength: 1, maxLength: 40 })
        .map((bodies) => feedEventsOf('person', personId, bodies, { previousSeq, at: AT, runId })),
      rekeyed: fc.array(fc.boolean(), { maxLength: 40 }),
    }),
  )
  .map(({ events, rekeyed }): FeedEvent[] => {
    const moved = events.filter((_, i) => rekeyed[i] === true);
    const kept = events.filter((_, i) => rekeyed[i] !== true);
    return [...kept, ...moved.map((e) => ({ ...e, at: LATER, key: feedKey(LATER, e.subjectId, e.seq) }))];
  });

describe('an outbox as written on its row', () => {
  it('property: gives back exactly the events it was given, in their order (rekeyed ones included)', () => {
    fc.assert(
      fc.property(outboxes, (events) => {
        expect(unpackOutbox(packOutbox(events))).toEqual(events);
      }),
      { numRuns: 300 },
    );
  });

  it("keeps a team's own events whole", () => {
    const events = feedEventsOf(
      'team',
      'c0000000-0000-4000-8000-000000000001',
      [
        {
          type: 'team.created',
          teamId: 'c0000000-0000-4000-8000-000000000001',
          name: 'Sales',
          description: '',
          status: 'active',
        },
        { type: 'team.archived', teamId: 'c0000000-0000-4000-8000-000000000001' },
      ],
      { previousSeq: 0, at: AT, runId: 'run-1' },
    );
    expect(unpackOutbox(packOutbox(events))).toEqual(events);
  });

  it('costs about 40 characters a team for a person who joins 2,000 teams at once (an event in full is about 400)', () => {
    const personId = 'd0000000-0000-4000-8000-000000000001';
    const bodies: PersonEvent[] = Array.from({ length: 2000 }, (_, i) => ({
      type: 'team.member_added',
      personId,
      teamId: `e0000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    }));
    const events = feedEventsOf('person', personId, bodies, { previousSeq: 3, at: AT, runId: 'run-1' });
    const text = packOutbox(events);
    expect(text.length).toBeLessThan(2000 * 40 + 200);
    expect(JSON.stringify(events).length).toBeGreaterThan(2000 * 300);
    expect(unpackOutbox(text)).toEqual(events);
  });

  it('reads no events from an empty or foreign text', () => {
    expect(unpackOutbox('')).toEqual([]);
    expect(unpackOutbox('not json')).toEqual([]);
    expect(unpackOutbox('{"s":"person"}')).toEqual([]);
  });
});
