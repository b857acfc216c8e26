import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { personIdFor } from '../../../src/domain/person-id.js';
import {
  mapUserToPerson,
  MAX_EMAIL_LENGTH,
  MAX_TEXT_LENGTH,
  PERSON_FIELD_NAMES,
} from '../../../src/domain/person-mapping.js';
import { guid, TENANT, userFactsArb, userOf } from './arbitraries.js';

function emailOfLength(length: number): string {
  const domain = '@contoso.com';
  return `${'a'.repeat(length - domain.length)}${domain}`;
}

describe('mapUserToPerson', () => {
  it('maps the default fields of a complete user', () => {
    const result = mapUserToPerson(TENANT, userOf());
    expect(result).toEqual({
      ok: true,
      fields: {
        displayName: 'Adele Vance',
        givenName: 'Adele',
        surname: 'Vance',
        email: 'adelev@contoso.onmicrosoft.com',
        jobTitle: 'Retail Manager',
        department: 'Retail',
        officeLocation: '18/2111',
        employeeId: 'E100',
        hireDate: '2020-01-15',
        managerId: null,
      },
    });
  });

  it('takes the email from mail, lower-cased and trimmed', () => {
    const result = mapUserToPerson(
      TENANT,
      userOf({}, { mail: '  Adele.Vance@Contoso.COM ', userPrincipalName: 'adelev@contoso.onmicrosoft.com' }),
    );
    expect(result.ok && result.fields.email).toBe('adele.vance@contoso.com');
  });

  it('falls back to the userPrincipalName, lower-cased, when mail is absent or blank', () => {
    for (const mail of [null, '', '   ']) {
      const result = mapUserToPerson(
        TENANT,
        userOf({}, { mail, userPrincipalName: 'AdeleV@Contoso.onmicrosoft.com' }),
      );
      expect(result.ok && result.fields.email).toBe('adelev@contoso.onmicrosoft.com');
    }
  });

  it('refuses a user with neither mail nor userPrincipalName', () => {
    const result = mapUserToPerson(TENANT, userOf({}, { mail: null, userPrincipalName: ' ' }));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(/mail/);
  });

  it('refuses a user without properties', () => {
    expect(mapUserToPerson(TENANT, userOf({ facts: null })).ok).toBe(false);
  });

  it('accepts an email of 254 characters and refuses 255, naming the email field', () => {
    expect(mapUserToPerson(TENANT, userOf({}, { mail: emailOfLength(MAX_EMAIL_LENGTH) })).ok).toBe(true);
    const result = mapUserToPerson(TENANT, userOf({}, { mail: emailOfLength(MAX_EMAIL_LENGTH + 1) }));
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
    expect(mapUserToPerson(TENANT, userOf({}, { [field]: 'x'.repeat(MAX_TEXT_LENGTH) })).ok).toBe(true);
    const result = mapUserToPerson(TENANT, userOf({}, { [field]: 'x'.repeat(MAX_TEXT_LENGTH + 1) }));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(new RegExp(`^${field} is 257 characters`));
  });

  it('points the manager at the person id of the manager user', () => {
    const managerId = '25dcffff-959e-4ece-9973-e5d9b800e8cc';
    const result = mapUserToPerson(TENANT, userOf({ managerId }));
    expect(result.ok && result.fields.managerId).toBe(personIdFor(TENANT, managerId));
  });

  it('uses the email as display name when the user has none, and blanks become null', () => {
    const result = mapUserToPerson(TENANT, userOf({}, { displayName: '  ', jobTitle: '', surname: null }));
    expect(result.ok && result.fields).toMatchObject({
      displayName: 'adelev@contoso.onmicrosoft.com',
      jobTitle: null,
      surname: null,
    });
  });

  it('keeps the hire date as a calendar date and drops an unreadable one', () => {
    const unreadable = mapUserToPerson(TENANT, userOf({}, { employeeHireDate: 'not a date' }));
    expect(unreadable.ok && unreadable.fields.hireDate).toBeNull();
  });

  it('for any user: accepted fields respect the lengths and the email rule, and the manager mapping', () => {
    fc.assert(
      fc.property(userFactsArb, fc.option(guid(), { nil: null }), (facts, managerId) => {
        const result = mapUserToPerson(TENANT, userOf({ facts, managerId }));
        const mail = facts.mail?.trim() ? facts.mail : facts.userPrincipalName;
        if (!mail?.trim()) {
          expect(result.ok).toBe(false);
          return;
        }
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        expect(result.fields.email).toBe(mail.trim().toLowerCase());
        expect(result.fields.managerId).toBe(managerId === null ? null : personIdFor(TENANT, managerId));
        expect(result.fields.displayName.length).toBeGreaterThan(0);
        for (const name of PERSON_FIELD_NAMES) {
          const value = result.fields[name];
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
