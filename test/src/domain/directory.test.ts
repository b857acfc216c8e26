import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  applyUserChange,
  type Deletion,
  type MirrorUser,
  type UserChange,
} from '../../../src/domain/directory.js';
import { guid, mirrorUserArb, userFactsArb } from './arbitraries.js';

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
});
