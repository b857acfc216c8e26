import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  bucketCountProblem,
  bucketOf,
  bucketPartition,
  DEFAULT_BUCKETS,
  partitionOf,
  tenantPartitionRange,
} from '../../../src/domain/bucket.js';
import { guid } from './arbitraries.js';

const bucketCount = fc.integer({ min: 1, max: 256 });

function inRange(key: string, range: { from: string; to: string }): boolean {
  return key >= range.from && key < range.to;
}

describe('bucketOf', () => {
  it('gives the same bucket for the same id every time (FNV-1a, fixed values)', () => {
    // Pinned values: a change would move every stored row to another partition.
    expect(bucketOf('')).toBe(0x811c9dc5 % DEFAULT_BUCKETS);
    expect(bucketOf('a', 1 << 30)).toBe(0xe40c292c % (1 << 30));
    expect(bucketOf('87d349ed-44d7-43e1-9a83-5f2406dee5bd')).toBe(
      bucketOf('87d349ed-44d7-43e1-9a83-5f2406dee5bd'),
    );
  });

  it('is an integer in [0, buckets) for any id and bucket count', () => {
    fc.assert(
      fc.property(fc.string(), bucketCount, (id, buckets) => {
        const bucket = bucketOf(id, buckets);
        expect(Number.isInteger(bucket)).toBe(true);
        expect(bucket).toBeGreaterThanOrEqual(0);
        expect(bucket).toBeLessThan(buckets);
      }),
    );
  });

  it('ignores the case of the object id', () => {
    fc.assert(
      fc.property(guid(), bucketCount, (id, buckets) => {
        expect(bucketOf(id.toUpperCase(), buckets)).toBe(bucketOf(id.toLowerCase(), buckets));
      }),
    );
  });

  it('spreads GUIDs over every one of the default 64 buckets', () => {
    const seen = new Set<number>();
    fc.assert(
      fc.property(guid(), (id) => {
        seen.add(bucketOf(id));
      }),
      { numRuns: 5000, seed: 42 },
    );
    expect(seen.size).toBe(DEFAULT_BUCKETS);
  });
});

describe('partition names', () => {
  it('are tenantId|NN with the bucket padded to two digits', () => {
    expect(bucketPartition('t', 0)).toBe('t|00');
    expect(bucketPartition('t', 7)).toBe('t|07');
    expect(bucketPartition('t', 63)).toBe('t|63');
    expect(bucketPartition('t', 100)).toBe('t|100');
  });

  it('partitionOf is the partition of the object id bucket', () => {
    fc.assert(
      fc.property(guid(), guid(), bucketCount, (tenantId, objectId, buckets) => {
        expect(partitionOf(tenantId, objectId, buckets)).toBe(
          bucketPartition(tenantId, bucketOf(objectId, buckets)),
        );
      }),
    );
  });
});

describe('tenantPartitionRange', () => {
  it('holds every bucket partition of the tenant and none of another tenant', () => {
    fc.assert(
      fc.property(guid(), guid(), fc.integer({ min: 0, max: 999 }), (a, b, bucket) => {
        const range = tenantPartitionRange(a);
        expect(inRange(bucketPartition(a, bucket), range)).toBe(true);
        expect(inRange(bucketPartition(b, bucket), range)).toBe(a === b);
      }),
    );
  });

  it('holds the partition of every object of the tenant', () => {
    fc.assert(
      fc.property(guid(), guid(), (tenantId, objectId) => {
        expect(inRange(partitionOf(tenantId, objectId), tenantPartitionRange(tenantId))).toBe(true);
      }),
    );
  });

  it('excludes the bare tenant partition and per-run partitions of other tenants', () => {
    const tenant = '72f988bf-86f1-41af-91ab-2d7cd011db47';
    const range = tenantPartitionRange(tenant);
    expect(inRange(tenant, range)).toBe(false);
    expect(inRange('72f988bf-86f1-41af-91ab-2d7cd011db48|00', range)).toBe(false);
  });
});

describe('bucketCountProblem', () => {
  it('lets a round run before any round and under the first round’s count, and refuses any other count naming both', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 16, max: 64 }),
        fc.integer({ min: 16, max: 64 }),
        (recorded, configured) => {
          expect(bucketCountProblem(null, configured)).toBeUndefined();
          const problem = bucketCountProblem(recorded, configured);
          if (recorded === configured) expect(problem).toBeUndefined();
          else {
            expect(problem).toContain(`SYNC_BUCKETS is ${configured}`);
            expect(problem).toContain(`set SYNC_BUCKETS back to ${recorded}`);
          }
        },
      ),
    );
  });
});
