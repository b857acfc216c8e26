import { setTimeout as sleep } from 'node:timers/promises';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { forEachConcurrently } from '../../../src/shared/concurrency.js';

describe('forEachConcurrently', () => {
  it('runs every item once, never more than `concurrency` at a time', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 8 }), async (n, limit) => {
        const seen: number[] = [];
        let running = 0;
        let most = 0;
        await forEachConcurrently(
          Array.from({ length: n }, (_, i) => i),
          limit,
          async (i) => {
            running += 1;
            most = Math.max(most, running);
            await sleep(i % 3);
            seen.push(i);
            running -= 1;
          },
        );
        expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
        expect(most).toBeLessThanOrEqual(limit);
      }),
      { numRuns: 30 },
    );
  });

  it('after a failure starts nothing more, and rejects only once the work in flight has ended', async () => {
    const ended: number[] = [];
    const started: number[] = [];
    const outcome = forEachConcurrently([0, 1, 2, 3, 4, 5], 3, async (i) => {
      started.push(i);
      if (i === 0) throw new Error('conflict');
      await sleep(30);
      ended.push(i);
    });
    await expect(outcome).rejects.toThrow('conflict');
    // 1 and 2 were in flight when 0 failed: both ended before the rejection; 3, 4, 5 never started.
    expect(started).toEqual([0, 1, 2]);
    expect(ended.sort()).toEqual([1, 2]);
  });
});
