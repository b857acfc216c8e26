import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { approvedSet, decideGate, destructiveLetThrough } from '../../../src/domain/guard.js';
import { policySchema } from '../../../src/domain/policy.js';

const gates = fc.record({
  maxDeletions: fc.integer({ min: 0, max: 1_000 }),
  maxShare: fc.double({ min: 0, max: 1, noNaN: true }),
  minChangesForShare: fc.integer({ min: 0, max: 50 }),
  review: fc.boolean(),
  heldLifetimeDays: fc.constant(7),
});
const counts = fc
  .record({
    directorySize: fc.integer({ min: 0, max: 5_000 }),
    destructive: fc.integer({ min: 0, max: 5_000 }),
    other: fc.integer({ min: 0, max: 5_000 }),
  })
  .map((c) => ({ ...c, destructive: Math.min(c.destructive, c.directorySize) }));

describe('the deletion guard', () => {
  it('never lets through more destructive changes than its thresholds allow', () => {
    fc.assert(
      fc.property(gates, counts, (gate, c) => {
        const through = destructiveLetThrough(c, decideGate(c, gate));
        expect(through).toBeLessThanOrEqual(gate.maxDeletions);
        if (through >= gate.minChangesForShare && c.directorySize > 0) {
          expect(through).toBeLessThanOrEqual(gate.maxShare * c.directorySize);
        }
        if (gate.review && c.destructive + c.other > 0) expect(through).toBe(0);
      }),
      { numRuns: 2_000 },
    );
  });

  it('lets everything through under its thresholds', () => {
    const gate = policySchema.parse({}).gate;
    expect(decideGate({ destructive: 9, other: 100, directorySize: 10 }, gate)).toEqual({ kind: 'pass' });
    expect(decideGate({ destructive: 20, other: 0, directorySize: 100 }, gate)).toEqual({ kind: 'pass' });
    expect(decideGate({ destructive: 21, other: 0, directorySize: 100 }, gate)).toMatchObject({
      kind: 'hold',
      scope: 'guard',
    });
    expect(decideGate({ destructive: 501, other: 0, directorySize: 100_000 }, gate)).toMatchObject({
      kind: 'hold',
      threshold: '501 people would leave the directory, more than 500',
    });
  });

  it('review mode holds any run that changes something, and nothing else', () => {
    const gate = { ...policySchema.parse({}).gate, review: true };
    expect(decideGate({ destructive: 0, other: 1, directorySize: 10 }, gate)).toMatchObject({
      scope: 'review',
    });
    expect(decideGate({ destructive: 0, other: 0, directorySize: 10 }, gate)).toEqual({ kind: 'pass' });
  });
});

describe('an approval', () => {
  it('of a subset applies that subset and nothing else', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.uuid(), { maxLength: 40 }),
        fc.array(fc.uuid(), { maxLength: 10 }),
        fc.option(fc.nat({ max: 40 }), { nil: undefined }),
        (held, strangers, take) => {
          const chosen = take === undefined ? undefined : [...held.slice(0, take), ...strangers];
          const applied = approvedSet(held, chosen);
          expect(applied.every((id) => held.includes(id))).toBe(true);
          if (chosen === undefined) expect(new Set(applied)).toEqual(new Set(held));
          else expect(new Set(applied)).toEqual(new Set(held.filter((id) => chosen.includes(id))));
        },
      ),
      { numRuns: 1_000 },
    );
  });
});
