import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { type ManagerFacts, resolveManagers } from '../../../src/domain/managers.js';

const ids = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7'];
const usersArb: fc.Arbitrary<ManagerFacts[]> = fc
  .uniqueArray(fc.constantFrom(...ids), { maxLength: ids.length })
  .chain((present) =>
    fc.tuple(
      ...present.map((userId) =>
        fc.record({
          userId: fc.constant(userId),
          personId: fc.option(fc.constant(`p-${userId}`), { nil: null, freq: 6 }),
          inDirectory: fc.boolean(),
          managerUserId: fc.option(fc.constantFrom(...ids, 'u-gone'), { nil: null, freq: 5 }),
        }),
      ),
    ),
  );

describe('resolveManagers', () => {
  it('links to the manager person, and names a missing, out-of-scope or cyclic manager', () => {
    const result = resolveManagers([
      { userId: 'ceo', personId: 'p-ceo', inDirectory: true, managerUserId: null },
      { userId: 'vp', personId: 'p-vp', inDirectory: true, managerUserId: 'ceo' },
      { userId: 'a', personId: 'p-a', inDirectory: true, managerUserId: 'gone' },
      { userId: 'b', personId: 'p-b', inDirectory: true, managerUserId: 'guest' },
      { userId: 'guest', personId: 'p-guest', inDirectory: false, managerUserId: 'ceo' },
      { userId: 'c', personId: 'p-c', inDirectory: true, managerUserId: 'unlinked' },
      { userId: 'unlinked', personId: null, inDirectory: true, managerUserId: null },
      { userId: 'x', personId: 'p-x', inDirectory: true, managerUserId: 'y' },
      { userId: 'y', personId: 'p-y', inDirectory: true, managerUserId: 'x' },
      { userId: 'below', personId: 'p-below', inDirectory: true, managerUserId: 'x' },
      { userId: 'self', personId: 'p-self', inDirectory: true, managerUserId: 'self' },
    ]);
    expect(Object.fromEntries(result)).toEqual({
      ceo: { managerPersonId: null, problem: null },
      vp: { managerPersonId: 'p-ceo', problem: null },
      a: { managerPersonId: null, problem: 'manager-missing' },
      b: { managerPersonId: null, problem: 'manager-out-of-scope' },
      guest: { managerPersonId: null, problem: null },
      c: { managerPersonId: null, problem: 'manager-missing' },
      unlinked: { managerPersonId: null, problem: null },
      x: { managerPersonId: null, problem: 'manager-cycle' },
      y: { managerPersonId: null, problem: 'manager-cycle' },
      below: { managerPersonId: 'p-x', problem: null },
      self: { managerPersonId: null, problem: 'manager-cycle' },
    });
  });

  it('never leaves a cycle in the resulting links, and every link points at an in-directory person', () => {
    fc.assert(
      fc.property(usersArb, (users) => {
        const result = resolveManagers(users);
        const userOfPerson = new Map(users.filter((u) => u.personId !== null).map((u) => [u.personId!, u]));
        expect([...result.keys()].sort()).toEqual(users.map((u) => u.userId).sort());
        for (const user of users) {
          let link = result.get(user.userId)!;
          if (link.managerPersonId === null) continue;
          expect(user.inDirectory && user.personId !== null).toBe(true);
          const manager = userOfPerson.get(link.managerPersonId)!;
          expect(manager.inDirectory).toBe(true);
          expect(manager.userId).toBe(user.managerUserId);
          // Following links from here ends within the number of users.
          let steps = 0;
          while (link.managerPersonId !== null) {
            link = result.get(userOfPerson.get(link.managerPersonId)!.userId)!;
            expect(++steps).toBeLessThanOrEqual(users.length);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('a cycle is reported exactly for the users whose manager chain comes back to them', () => {
    fc.assert(
      fc.property(usersArb, (users) => {
        const result = resolveManagers(users);
        const byId = new Map(users.map((u) => [u.userId, u]));
        const linkable = (u: ManagerFacts | undefined): boolean =>
          u !== undefined && u.inDirectory && u.personId !== null;
        for (const user of users) {
          // The oracle: follow at most n in-directory manager steps and see whether we are back.
          let onCycle = false;
          let at: ManagerFacts | undefined = user;
          for (let i = 0; i < users.length && linkable(at) && at!.managerUserId !== null; i++) {
            at = byId.get(at!.managerUserId);
            if (!linkable(at)) break;
            if (at!.userId === user.userId) {
              onCycle = true;
              break;
            }
          }
          expect(result.get(user.userId)!.problem === 'manager-cycle').toBe(onCycle);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('resolves a 100,000-long manager chain, and a 100,000-long cycle, without blowing the stack', () => {
    const n = 100_000;
    const chain: ManagerFacts[] = Array.from({ length: n }, (_, i) => ({
      userId: `u${i}`,
      personId: `p${i}`,
      inDirectory: true,
      managerUserId: i + 1 < n ? `u${i + 1}` : null,
    }));
    const linked = resolveManagers(chain);
    expect(linked.get('u0')).toEqual({ managerPersonId: 'p1', problem: null });
    expect([...linked.values()].filter((l) => l.managerPersonId !== null)).toHaveLength(n - 1);
    const cycle = resolveManagers(chain.map((u, i) => (i === n - 1 ? { ...u, managerUserId: 'u0' } : u)));
    expect([...cycle.values()].every((l) => l.problem === 'manager-cycle')).toBe(true);
  });
});
