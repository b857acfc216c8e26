import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { type FieldValue, mergeFields, type MergeInput, sameValue } from '../../../src/domain/merge.js';
import { MERGE_STRATEGIES, WRITE_WHEN } from '../../../src/domain/policy.js';

const KEYS = ['displayName', 'jobTitle', 'department', 'skills', 'level'];
const valueArb: fc.Arbitrary<FieldValue> = fc.oneof(
  fc.constantFrom<FieldValue>(null, '', 'A', 'B', 'C', 1, 2, true, false, [], ['x'], ['x', 'y'], ['y', 'x']),
);

/** Inputs where the three values of a key often coincide, so edits, conflicts and agreements all occur. */
const inputArb: fc.Arbitrary<MergeInput> = fc
  .record({
    strategy: fc.constantFrom(...MERGE_STRATEGIES),
    creating: fc.boolean(),
    keys: fc.uniqueArray(fc.constantFrom(...KEYS), { minLength: 1 }),
    current: fc.dictionary(fc.constantFrom(...KEYS), valueArb),
    base: fc.dictionary(fc.constantFrom(...KEYS), valueArb),
    entra: fc.dictionary(fc.constantFrom(...KEYS), valueArb),
    when: fc.dictionary(fc.constantFrom(...KEYS), fc.constantFrom(...WRITE_WHEN)),
  })
  .map(({ strategy, creating, keys, current, base, entra, when }) => ({
    strategy,
    creating,
    current,
    base,
    fields: keys.map((key) => ({ key, entra: entra[key] ?? null, when: when[key] ?? 'always' })),
  }));

const has = (r: object, k: string): boolean => Object.prototype.hasOwnProperty.call(r, k);
const currentOf = (input: MergeInput, key: string): FieldValue =>
  has(input.current, key) ? input.current[key]! : null;
/** The test's own reading of "app-edited": differs from what sync wrote; never written = not edited unless creating. */
const appEdited = (input: MergeInput, key: string): boolean =>
  has(input.base, key)
    ? !sameValue(currentOf(input, key), input.base[key]!)
    : input.creating && currentOf(input, key) !== null;

describe('mergeFields', () => {
  it('merge is idempotent: merging again with the result as current and base changes nothing', () => {
    fc.assert(
      fc.property(inputArb, fc.boolean(), (input, stillCreating) => {
        const first = mergeFields(input);
        if (first.kind === 'skipped') {
          expect(mergeFields(input)).toEqual(first);
          return;
        }
        const again = mergeFields({
          ...input,
          creating: input.creating && stillCreating,
          current: first.values,
          base: first.base,
        });
        expect(again.kind).toBe('write');
        if (again.kind !== 'write') return;
        expect(again.changed).toEqual([]);
        expect(again.values).toEqual(first.values);
        expect(again.base).toEqual(first.base);
      }),
      { numRuns: 2000 },
    );
  });

  it('app-wins never changes a field the app edited', () => {
    fc.assert(
      fc.property(inputArb, (generated) => {
        const input = { ...generated, strategy: 'app-wins' as const };
        const result = mergeFields(input);
        expect(result.kind).toBe('write');
        if (result.kind !== 'write') return;
        for (const { key } of input.fields) {
          if (appEdited(input, key)) {
            expect(result.values[key]).toEqual(currentOf(input, key));
            expect(result.changed).not.toContain(key);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('skip-conflicts never writes a person with a conflicting field, and reports both values', () => {
    fc.assert(
      fc.property(inputArb, (generated) => {
        const input = { ...generated, strategy: 'skip-conflicts' as const };
        const result = mergeFields(input);
        const conflicting = input.fields.filter(({ key, entra, when }) => {
          const current = currentOf(input, key);
          const writable =
            when === 'always' ||
            (when === 'on-create'
              ? input.creating
              : current === null || current === '' || (Array.isArray(current) && current.length === 0));
          const base = has(input.base, key) ? input.base[key]! : input.creating ? null : current;
          return (
            writable && !sameValue(current, base) && !sameValue(entra, base) && !sameValue(current, entra)
          );
        });
        if (conflicting.length === 0) {
          expect(result.kind).toBe('write');
        } else {
          expect(result.kind).toBe('skipped');
          if (result.kind === 'skipped')
            expect(result.conflicts.map((c) => [c.key, c.app, c.entra])).toEqual(
              conflicting.map((f) => [f.key, currentOf(input, f.key), f.entra]),
            );
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('entra-wins ends with the value equal to Entra for always keys, and base equal to it', () => {
    fc.assert(
      fc.property(inputArb, (generated) => {
        const input = { ...generated, strategy: 'entra-wins' as const };
        const result = mergeFields(input);
        expect(result.kind).toBe('write');
        if (result.kind !== 'write') return;
        for (const { key, entra, when } of input.fields) {
          if (when === 'always') {
            expect(result.values[key]).toEqual(entra);
            expect(result.base[key]).toEqual(entra);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('on-create writes only when creating; if-empty only an empty value; unwritten fields keep value and base', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const result = mergeFields(input);
        if (result.kind !== 'write') return;
        for (const { key, when } of input.fields) {
          const current = currentOf(input, key);
          const skipped =
            (when === 'on-create' && !input.creating) ||
            (when === 'if-empty' &&
              !(current === null || current === '' || (Array.isArray(current) && current.length === 0)));
          if (skipped) {
            expect(result.values[key]).toEqual(current);
            if (has(input.base, key)) expect(result.base[key]).toEqual(input.base[key]);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('changed lists exactly the keys whose value differs from the current one', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const result = mergeFields(input);
        if (result.kind !== 'write') return;
        expect(result.changed).toEqual(
          input.fields.map((f) => f.key).filter((k) => !sameValue(result.values[k]!, currentOf(input, k))),
        );
      }),
    );
  });

  it('examples: an app edit Entra also changed is a conflict; a field never written is not an edit', () => {
    const fields = [{ key: 'jobTitle', entra: 'Director', when: 'always' as const }];
    const edited = { current: { jobTitle: 'Lead' }, base: { jobTitle: 'Manager' }, creating: false, fields };
    const conflict = { key: 'jobTitle', app: 'Lead', entra: 'Director', base: 'Manager' };
    expect(mergeFields({ ...edited, strategy: 'entra-wins' })).toEqual({
      kind: 'write',
      values: { jobTitle: 'Director' },
      base: { jobTitle: 'Director' },
      changed: ['jobTitle'],
      kept: [],
    });
    expect(mergeFields({ ...edited, strategy: 'app-wins' })).toEqual({
      kind: 'write',
      values: { jobTitle: 'Lead' },
      base: { jobTitle: 'Manager' },
      changed: [],
      kept: [conflict],
    });
    expect(mergeFields({ ...edited, strategy: 'skip-conflicts' })).toEqual({
      kind: 'skipped',
      conflicts: [conflict],
    });
    expect(
      mergeFields({ strategy: 'app-wins', creating: false, current: { jobTitle: 'Lead' }, base: {}, fields }),
    ).toMatchObject({ kind: 'write', values: { jobTitle: 'Director' }, changed: ['jobTitle'] });
    expect(
      mergeFields({ strategy: 'app-wins', creating: true, current: { jobTitle: 'Lead' }, base: {}, fields }),
    ).toMatchObject({ kind: 'write', values: { jobTitle: 'Lead' }, changed: [] });
    expect(
      mergeFields({
        strategy: 'entra-wins',
        creating: false,
        current: { skills: ['a', 'b'] },
        base: { skills: ['a', 'b'] },
        fields: [{ key: 'skills', entra: ['a', 'b'], when: 'always' }],
      }),
    ).toMatchObject({ changed: [] });
  });
});
