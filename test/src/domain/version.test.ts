import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { type ChangeVersion, encodeVersion, isNewer, SWEEP_PAGE } from '../../../src/domain/version.js';

const versionArb: fc.Arbitrary<ChangeVersion> = fc.record({
  round: fc.integer({ min: 0, max: 9_999_999_999 }),
  page: fc.integer({ min: 0, max: SWEEP_PAGE }),
  index: fc.integer({ min: 0, max: 999_999 }),
});

/** Version order as the design states it: round, then page, then index. */
function compareVersions(a: ChangeVersion, b: ChangeVersion): number {
  return Math.sign(a.round - b.round) || Math.sign(a.page - b.page) || Math.sign(a.index - b.index);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

describe('encodeVersion', () => {
  it('orders strings exactly as (round, page, index) order lexicographically', () => {
    fc.assert(
      fc.property(versionArb, versionArb, (a, b) => {
        expect(compareStrings(encodeVersion(a), encodeVersion(b))).toBe(compareVersions(a, b));
      }),
      { numRuns: 2000 },
    );
  });

  it('orders neighbouring versions (same round or page) correctly', () => {
    const close = fc.record({
      round: fc.integer({ min: 0, max: 3 }),
      page: fc.integer({ min: 0, max: 3 }),
      index: fc.integer({ min: 0, max: 12 }),
    });
    fc.assert(
      fc.property(close, close, (a, b) => {
        expect(compareStrings(encodeVersion(a), encodeVersion(b))).toBe(compareVersions(a, b));
      }),
    );
  });

  it('places a full round sweep after every page of that round and before the next round', () => {
    const sweep = encodeVersion({ round: 7, page: SWEEP_PAGE, index: 0 });
    expect(sweep > encodeVersion({ round: 7, page: 123_456, index: 999 })).toBe(true);
    expect(sweep < encodeVersion({ round: 8, page: 0, index: 0 })).toBe(true);
  });

  it('has a fixed, readable layout', () => {
    expect(encodeVersion({ round: 12, page: 3, index: 45 })).toBe('0000000012.000003.000045');
  });
});

describe('isNewer', () => {
  it('accepts any version when nothing was applied yet', () => {
    expect(isNewer(encodeVersion({ round: 0, page: 0, index: 0 }), undefined)).toBe(true);
  });

  it('refuses a replay of the applied version and anything older', () => {
    fc.assert(
      fc.property(versionArb, versionArb, (a, b) => {
        const newer = isNewer(encodeVersion(a), encodeVersion(b));
        expect(newer).toBe(compareVersions(a, b) > 0);
      }),
    );
  });
});
