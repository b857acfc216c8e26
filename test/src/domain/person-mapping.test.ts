import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { MirrorUser } from '../../../src/domain/directory.js';
import type { FieldValue } from '../../../src/domain/merge.js';
import {
  type MappingResult,
  mapUser,
  MAX_EMAIL_LENGTH,
  MAX_TEXT_LENGTH,
} from '../../../src/domain/person-mapping.js';
import { DEFAULT_POLICY, PERSON_FIELDS, type PolicyInput, policySchema } from '../../../src/domain/policy.js';
import {
  CUSTOM_MAPPINGS,
  CUSTOM_TYPES,
  EXT_SKILLS,
  plannerFactsArb,
  userFactsArb,
  userOf,
} from './arbitraries.js';

const TYPES = new Map(Object.entries(CUSTOM_TYPES));

function map(user: MirrorUser, policy: PolicyInput = {}): MappingResult {
  return mapUser(user, policySchema.parse(policy), TYPES);
}

/** The mapped values by field key (the merge decides which are written). */
function valuesOf(result: MappingResult): Record<string, FieldValue> {
  if (!result.ok) throw new Error(`expected a mapping, got: ${result.reason}`);
  return Object.fromEntries(result.mapped.fields.map((field) => [field.key, field.entra]));
}

function emailOfLength(length: number): string {
  const domain = '@contoso.com';
  return `${'a'.repeat(length - domain.length)}${domain}`;
}

describe('mapUser: the default mapping', () => {
  it('maps the default fields of a complete user, each always written, with nothing invalid', () => {
    const result = mapUser(userOf(), DEFAULT_POLICY, new Map());
    expect(valuesOf(result)).toEqual({
      displayName: 'Adele Vance',
      givenName: 'Adele',
      surname: 'Vance',
      email: 'adelev@contoso.onmicrosoft.com',
      jobTitle: 'Retail Manager',
      department: 'Retail',
      officeLocation: '18/2111',
      employeeId: 'E100',
      hireDate: '2020-01-15',
    });
    expect(result.ok && result.mapped.fields.every((f) => f.when === 'always')).toBe(true);
    expect(result.ok && result.mapped.invalid).toEqual([]);
  });

  it('takes the email from mail, lower-cased and trimmed', () => {
    const user = userOf(
      {},
      { mail: '  Adele.Vance@Contoso.COM ', userPrincipalName: 'adelev@contoso.onmicrosoft.com' },
    );
    expect(valuesOf(map(user)).email).toBe('adele.vance@contoso.com');
  });

  it('falls back to the userPrincipalName, lower-cased, when mail is absent or blank', () => {
    for (const mail of [null, '', '   ']) {
      const user = userOf({}, { mail, userPrincipalName: 'AdeleV@Contoso.onmicrosoft.com' });
      expect(valuesOf(map(user)).email).toBe('adelev@contoso.onmicrosoft.com');
    }
  });

  it('refuses a user with neither mail nor userPrincipalName, with a reason', () => {
    const result = map(userOf({}, { mail: null, userPrincipalName: ' ' }));
    expect(result).toEqual({ ok: false, reason: 'the user has neither mail nor userPrincipalName' });
  });

  it('refuses a user without properties', () => {
    expect(map(userOf({ facts: null }))).toEqual({
      ok: false,
      reason: 'no properties were received for this user',
    });
  });

  it('accepts an email of 254 characters and refuses 255, naming the email field', () => {
    expect(map(userOf({}, { mail: emailOfLength(MAX_EMAIL_LENGTH) })).ok).toBe(true);
    const result = map(userOf({}, { mail: emailOfLength(MAX_EMAIL_LENGTH + 1) }));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(/^email is 255 characters/);
  });

  it.each([
    'displayName',
    'givenName',
    'surname',
    'jobTitle',
    'department',
    'officeLocation',
    'employeeId',
  ] as const)('refuses a %s over 256 characters with the field name, and accepts 256', (field) => {
    expect(map(userOf({}, { [field]: 'x'.repeat(MAX_TEXT_LENGTH) })).ok).toBe(true);
    const result = map(userOf({}, { [field]: 'x'.repeat(MAX_TEXT_LENGTH + 1) }));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(new RegExp(`^${field} is 257 characters`));
  });

  it('uses the email as display name when the user has none, and blanks become null', () => {
    expect(valuesOf(map(userOf({}, { displayName: '  ', jobTitle: '', surname: null })))).toMatchObject({
      displayName: 'adelev@contoso.onmicrosoft.com',
      jobTitle: null,
      surname: null,
    });
  });

  it('keeps the hire date as a calendar date and drops an unreadable one', () => {
    expect(valuesOf(map(userOf({}, { employeeHireDate: '2014-06-30T00:00:00Z' }))).hireDate).toBe(
      '2014-06-30',
    );
    expect(valuesOf(map(userOf({}, { employeeHireDate: 'not a date' }))).hireDate).toBeNull();
  });

  it('for any user: accepted fields are every built-in field, trimmed, non-empty, with the email rule', () => {
    fc.assert(
      fc.property(userFactsArb, (facts) => {
        const result = map(userOf({ facts }));
        const mail = facts.mail?.trim() ? facts.mail : facts.userPrincipalName;
        if (!mail?.trim()) {
          expect(result.ok).toBe(false);
          return;
        }
        const values = valuesOf(result);
        expect(Object.keys(values)).toEqual([...PERSON_FIELDS]);
        expect(values.email).toBe(mail.trim().toLowerCase());
        expect(typeof values.displayName === 'string' && values.displayName.length > 0).toBe(true);
        for (const value of Object.values(values)) {
          if (typeof value === 'string') {
            expect(value).toBe(value.trim());
            expect(value.length).toBeGreaterThan(0);
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('mapUser: the policy', () => {
  it('writes each built-in field as fieldWrites says (absent = always)', () => {
    const result = map(userOf(), { fieldWrites: { jobTitle: 'on-create', department: 'if-empty' } });
    const when = Object.fromEntries(result.ok ? result.mapped.fields.map((f) => [f.key, f.when]) : []);
    expect(when).toMatchObject({ jobTitle: 'on-create', department: 'if-empty', surname: 'always' });
  });

  it('a mapping to a built-in field replaces its default, with its own when', () => {
    const result = map(userOf(), {
      mappings: [{ source: 'department', target: { field: 'officeLocation' }, when: 'if-empty' }],
    });
    expect(result.ok && result.mapped.fields.find((f) => f.key === 'officeLocation')).toEqual({
      key: 'officeLocation',
      entra: 'Retail',
      when: 'if-empty',
    });
  });

  it('coerces custom mappings to their property types, from extension attributes, directory extensions and security attributes', () => {
    const user = {
      ...userOf(
        {},
        { onPremisesExtensionAttributes: { extensionAttribute1: ' 12 ' }, more: { [EXT_SKILLS]: 'go' } },
      ),
      securityAttributes: { hr: { remote: 'yes' } },
    };
    const result = map(user, {
      mappings: [
        {
          source: 'onPremisesExtensionAttributes.extensionAttribute1',
          target: { customProperty: 'costCenter' },
        },
        { source: EXT_SKILLS, target: { customProperty: 'skills' } },
        { source: 'customSecurityAttributes.hr.remote', target: { customProperty: 'remote' } },
      ],
    });
    expect(valuesOf(result)).toMatchObject({
      'custom.costCenter': 12,
      'custom.skills': ['go'],
      'custom.remote': true,
    });
  });

  it('a custom mapping whose value cannot be coerced is invalid for that field only; the other fields are still mapped', () => {
    fc.assert(
      fc.property(plannerFactsArb, fc.subarray([...CUSTOM_MAPPINGS], { minLength: 1 }), (facts, mappings) => {
        const user = userOf({ facts: { ...facts, userPrincipalName: 'adele@contoso.com' } });
        const result = map(user, { mappings });
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        const keyOf = (m: (typeof mappings)[number]): string =>
          'field' in m.target ? m.target.field : `custom.${m.target.customProperty}`;
        const invalidKeys = result.mapped.invalid.map((i) => i.key);
        const mappedKeys = result.mapped.fields.map((f) => f.key);
        // Each key is either mapped or invalid, never both; only mapped keys can be invalid.
        for (const key of invalidKeys) {
          expect(mappedKeys).not.toContain(key);
          expect(mappings.map(keyOf)).toContain(key);
        }
        const unmapped = PERSON_FIELDS.filter((f) => !mappings.some((m) => keyOf(m) === f));
        for (const field of unmapped) expect(mappedKeys).toContain(field);
        for (const m of mappings) expect([...mappedKeys, ...invalidKeys]).toContain(keyOf(m));
        // An uncoercible extension attribute is reported, with the source and the value.
        const attribute = facts.onPremisesExtensionAttributes?.extensionAttribute1;
        const costCenter = mappings.some(
          (m) => 'customProperty' in m.target && m.target.customProperty === 'costCenter',
        );
        if (costCenter && attribute === 'twelve') {
          const reported = result.mapped.invalid.find((i) => i.key === 'custom.costCenter');
          expect(reported?.reason).toMatch(/^onPremisesExtensionAttributes\.extensionAttribute1: .*"twelve"/);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a mapping to a custom property the app does not define is invalid for that field', () => {
    const result = map(userOf(), { mappings: [{ source: 'city', target: { customProperty: 'nowhere' } }] });
    expect(result.ok && result.mapped.invalid).toEqual([
      { key: 'custom.nowhere', reason: 'custom property nowhere is not defined' },
    ]);
    expect(Object.keys(valuesOf(result))).toEqual([...PERSON_FIELDS]);
  });
});
