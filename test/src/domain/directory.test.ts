import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  applyUserChange,
  type Deletion,
  type MirrorUser,
  type UserChange,
  withoutSettledRemovals,
} from '../../../src/domain/directory.js';
import { guid, mirrorUserArb, userFactsArb, userOf } from './arbitraries.js';

const ID = '87d349ed-44d7-43e1-9a83-5f2406dee5bd';
const V2 = '0000000002.000000.000000';

/** A change as parsed from a delta page: either a deletion, or facts with an optional manager@delta. */
const changeArb: fc.Arbitrary<UserChange> = fc.oneof(
  fc.record({
    kind: fc.constant('user' as const),
    id: fc.constant(ID),
    version: fc.constant(V2),
    removed: fc.constantFrom<Deletion>('soft', 'hard'),
  }),
  fc.record(
    {
      kind: fc.constant('user' as const),
      id: fc.constant(ID),
      version: fc.constant(V2),
      facts: userFactsArb,
      manager: fc.option(guid(), { nil: null }),
    },
    { requiredKeys: ['kind', 'id', 'version', 'facts'] },
  ),
);

const beforeArb = fc.option(mirrorUserArb(fc.constant(ID)), { nil: undefined });

describe('applyUserChange', () => {
  it('replaces every property with the change and clears a deletion (restore)', () => {
    fc.assert(
      fc.property(beforeArb, userFactsArb, (before, facts) => {
        const after = applyUserChange(before, { kind: 'user', id: ID, version: V2, facts });
        expect(after.facts).toEqual(facts);
        expect(after.deleted).toBeNull();
        expect(after.version).toBe(V2);
      }),
    );
  });

  it('keeps the manager when manager@delta is absent, sets it when given, removes it when null', () => {
    fc.assert(
      fc.property(beforeArb, userFactsArb, guid(), (before, facts, managerId) => {
        const kept = applyUserChange(before, { kind: 'user', id: ID, version: V2, facts });
        expect(kept.managerId).toBe(before?.managerId ?? null);
        const set = applyUserChange(before, { kind: 'user', id: ID, version: V2, facts, manager: managerId });
        expect(set.managerId).toBe(managerId);
        const removed = applyUserChange(before, { kind: 'user', id: ID, version: V2, facts, manager: null });
        expect(removed.managerId).toBeNull();
      }),
    );
  });

  it('a deletion keeps the last known facts and manager and records soft or hard', () => {
    fc.assert(
      fc.property(beforeArb, fc.constantFrom<Deletion>('soft', 'hard'), (before, removed) => {
        const after = applyUserChange(before, { kind: 'user', id: ID, version: V2, removed });
        const expected: MirrorUser = {
          id: ID,
          facts: before?.facts ?? null,
          managerId: before?.managerId ?? null,
          managerVersion: before?.managerVersion ?? '',
          factsVersion: before?.factsVersion ?? '',
          deleted: removed,
          version: V2,
          memberships: before?.memberships ?? {},
        };
        expect(after).toEqual(expected);
      }),
    );
  });

  it('is idempotent: applying the same change twice gives the same row', () => {
    fc.assert(
      fc.property(beforeArb, changeArb, (before, change) => {
        const once = applyUserChange(before, change);
        expect(applyUserChange(once, change)).toEqual(once);
      }),
    );
  });

  it('a soft delete then a restore keeps the manager the user had', () => {
    const before: MirrorUser = {
      id: ID,
      facts: null,
      managerId: '25dcffff-959e-4ece-9973-e5d9b800e8cc',
      managerVersion: '0000000001.000000.000000',
      factsVersion: '0000000001.000000.000000',
      deleted: null,
      version: '0000000001.000000.000000',
      memberships: { 'g-1': { present: true, version: '0000000001.000000.000001' } },
    };
    const deleted = applyUserChange(before, { kind: 'user', id: ID, version: V2, removed: 'soft' });
    expect(deleted.deleted).toBe('soft');
    fc.assert(
      fc.property(userFactsArb, (facts) => {
        const restored = applyUserChange(deleted, {
          kind: 'user',
          id: ID,
          version: '0000000003.000000.000000',
          facts,
        });
        expect(restored).toMatchObject({ deleted: null, managerId: before.managerId, facts });
      }),
    );
  });

  it('applying changes in any order gives the row that applying them in version order gives (order across rounds)', () => {
    const versioned = fc
      .uniqueArray(fc.integer({ min: 1, max: 9_999 }), { minLength: 1, maxLength: 6 })
      .chain((rounds) =>
        fc.tuple(
          ...rounds.map((round) =>
            changeArb.map((change) => ({
              ...change,
              version: `${String(round).padStart(10, '0')}.000001.000000`,
            })),
          ),
        ),
      );
    fc.assert(
      fc.property(beforeArb, versioned, fc.infiniteStream(fc.nat()), (before, changes, picks) => {
        const inOrder = [...changes].sort((a, b) => (a.version < b.version ? -1 : 1));
        const shuffled = [...changes];
        const it = picks[Symbol.iterator]();
        for (let i = shuffled.length - 1; i > 0; i -= 1) {
          const j = it.next().value! % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        const apply = (list: UserChange[]) =>
          list.reduce<MirrorUser | undefined>((row, c) => applyUserChange(row, c), before);
        expect(apply(shuffled)).toEqual(apply(inOrder));
      }),
    );
  });

  it('a manager set in round 1 survives a later change of another property applied first', () => {
    const later = applyUserChange(undefined, {
      kind: 'user',
      id: ID,
      version: '0000000002.000001.000000',
      facts: userOf().facts!,
    });
    const manager = '25dcffff-959e-4ece-9973-e5d9b800e8cc';
    const after = applyUserChange(later, {
      kind: 'user',
      id: ID,
      version: '0000000001.000001.000000',
      facts: userOf({}, { jobTitle: 'older' }).facts!,
      manager,
    });
    expect(after.managerId).toBe(manager);
    expect(after.facts?.jobTitle).toBe(userOf().facts!.jobTitle);
  });
});

describe('withoutSettledRemovals', () => {
  it('drops exactly the removed memberships of settled rounds, and keeps every present one', () => {
    const membershipArb = fc.record({
      present: fc.boolean(),
      version: fc.integer({ min: 1, max: 20 }).map((r) => `${String(r).padStart(10, '0')}.000001.000000`),
    });
    fc.assert(
      fc.property(
        fc.dictionary(guid(), membershipArb),
        fc.integer({ min: 0, max: 20 }),
        (memberships, settled) => {
          const kept = withoutSettledRemovals(memberships, settled);
          for (const [groupId, m] of Object.entries(memberships)) {
            const settledRemoval = !m.present && Number(m.version.slice(0, 10)) <= settled;
            expect(kept[groupId]).toEqual(settledRemoval ? undefined : m);
          }
        },
      ),
    );
  });
});
