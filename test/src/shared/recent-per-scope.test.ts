/** Per-scope memory of a process: scopes apart, the oldest key forgotten first past the limit. */
import { describe, expect, it } from 'vitest';

import { RecentPerScope } from '../../../src/shared/recent-per-scope.js';

describe('RecentPerScope', () => {
  it('keeps each scope apart and forgets the oldest key once past its limit', () => {
    const recent = new RecentPerScope<number>(2);
    const a = {};
    const b = {};
    recent.set(a, 'x', 1);
    recent.set(a, 'y', 2);
    recent.set(b, 'x', 10);
    expect(recent.get(a, 'x')).toBe(1);
    expect(recent.get(b, 'x')).toBe(10);
    recent.set(a, 'z', 3);
    expect([recent.get(a, 'x'), recent.get(a, 'y'), recent.get(a, 'z')]).toEqual([undefined, 2, 3]);
    expect(recent.get(b, 'x')).toBe(10);
    recent.delete(a, 'y');
    expect(recent.get(a, 'y')).toBeUndefined();
  });
});
