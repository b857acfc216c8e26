import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { coerceValue, CUSTOM_PROPERTY_TYPES } from '../../../src/domain/coerce.js';

/** Anything a mirror, a mapping or a bad directory extension may hand over. */
const anyInput: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    null,
    undefined,
    '',
    '  ',
    'true',
    'No',
    '1',
    '0',
    '1,5',
    '1.5',
    ' 42 ',
    '-1e3',
    'Infinity',
    'NaN',
  ),
  fc.constantFrom(
    '2020-01-15',
    '2020-01-15T00:00:00Z',
    '2024-02-29T23:59:59.123+02:00',
    '2023-02-29',
    '2020-13-01',
  ),
  fc.constantFrom(
    Number.NaN,
    Number.POSITIVE_INFINITY,
    -0,
    1,
    0,
    new Date(Date.UTC(2020, 0, 15)),
    new Date(Number.NaN),
  ),
  fc.string({ maxLength: 20 }),
  fc.string({ minLength: 1020, maxLength: 1030 }),
  fc.double(),
  fc.boolean(),
  fc.array(fc.oneof(fc.string({ maxLength: 5 }), fc.constantFrom(' a ', '', ' ')), { maxLength: 4 }),
  fc.array(fc.oneof(fc.integer(), fc.string()), { minLength: 1, maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.string({ maxLength: 3 })),
);
const typeArb = fc.constantFrom(...CUSTOM_PROPERTY_TYPES);

describe('coerceValue', () => {
  it('coercing a coerced value is the identity', () => {
    fc.assert(
      fc.property(anyInput, typeArb, (value, type) => {
        const first = coerceValue(value, type);
        if (first.ok) expect(coerceValue(first.value, type)).toEqual(first);
      }),
      { numRuns: 3000 },
    );
  });

  it('invalid never throws, and its reason says what was expected and what came', () => {
    fc.assert(
      fc.property(fc.anything(), anyInput, typeArb, (a, b, type) => {
        for (const value of [a, b]) {
          const result = coerceValue(value, type);
          if (!result.ok) expect(result.reason).toMatch(/^expected .+, got .+/);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('a valid result has the type asked for', () => {
    fc.assert(
      fc.property(anyInput, typeArb, (value, type) => {
        const result = coerceValue(value, type);
        if (!result.ok || result.value === null) return;
        const v = result.value;
        if (type === 'string') expect(typeof v).toBe('string');
        if (type === 'number') expect(Number.isFinite(v)).toBe(true);
        if (type === 'boolean') expect(typeof v).toBe('boolean');
        if (type === 'date') expect(v).toMatch(/^\d{4}-\d{2}-\d{2}$/);
        if (type === 'string-list') {
          expect(Array.isArray(v)).toBe(true);
          for (const item of v as string[]) expect(item).toBe(item.trim());
          expect(v).not.toContain('');
        }
      }),
      { numRuns: 3000 },
    );
  });

  it.each([
    [null, 'number', null],
    ['  ', 'date', null],
    ['  Sales ', 'string', 'Sales'],
    [42, 'string', '42'],
    [false, 'string', 'false'],
    ['1.5', 'number', 1.5],
    [' -2 ', 'number', -2],
    ['YES', 'boolean', true],
    ['0', 'boolean', false],
    ['2020-01-15T00:00:00Z', 'date', '2020-01-15'],
    ['2024-02-29', 'date', '2024-02-29'],
    [[' a ', '', 'b'], 'string-list', ['a', 'b']],
    [' solo ', 'string-list', ['solo']],
  ] as const)('%j as %s → %j', (value, type, expected) => {
    expect(coerceValue(value, type)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['1,5', 'number', /expected a number .*got the text "1,5"/],
    [true, 'number', /got the boolean true/],
    ['maybe', 'boolean', /expected a boolean/],
    ['2023-02-29', 'date', /calendar date/],
    ['15/01/2020', 'date', /ISO date/],
    [['a', 1], 'string-list', /expected a list of texts, got a list of 2 values/],
    [{ a: 1 }, 'string', /expected a text, got an object/],
    [['a'], 'string', /got a list of 1 value$/],
    ['x'.repeat(1025), 'string', /at most 1024 characters, got the text "x+…" \(1025 characters\)/],
  ] as const)('%j as %s is invalid', (value, type, reason) => {
    const result = coerceValue(value, type);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });
});
