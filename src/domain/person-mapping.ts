import type { MirrorUser, UserFacts } from './directory.js';
import { personIdFor } from './person-id.js';

/** The app's profile fields that the default mapping fills from Entra. */
export interface PersonFields {
  readonly displayName: string;
  readonly givenName: string | null;
  readonly surname: string | null;
  readonly email: string;
  readonly jobTitle: string | null;
  readonly department: string | null;
  readonly officeLocation: string | null;
  readonly employeeId: string | null;
  readonly hireDate: string | null;
  readonly managerId: string | null;
}

export const PERSON_FIELD_NAMES = [
  'displayName',
  'givenName',
  'surname',
  'email',
  'jobTitle',
  'department',
  'officeLocation',
  'employeeId',
  'hireDate',
  'managerId',
] as const satisfies readonly (keyof PersonFields)[];

/** Longest value the app accepts in a text field (an email address: RFC 5321's 254 characters). */
export const MAX_TEXT_LENGTH = 256;
export const MAX_EMAIL_LENGTH = 254;

export type MappingResult =
  { readonly ok: true; readonly fields: PersonFields } | { readonly ok: false; readonly reason: string };

/**
 * Maps an in-scope Entra user to the app's person fields (the default mapping): display name, given
 * name, surname, email (mail, else userPrincipalName), job title, department, office, employee id,
 * hire date and manager. A user that cannot be represented is refused with the reason.
 */
export function mapUserToPerson(tenantId: string, user: MirrorUser): MappingResult {
  const facts: UserFacts | null = user.facts;
  if (!facts) return { ok: false, reason: 'no properties were received for this user' };
  const email = normalizeEmail(facts.mail) ?? normalizeEmail(facts.userPrincipalName);
  if (!email) return { ok: false, reason: 'the user has neither mail nor userPrincipalName' };
  if (email.length > MAX_EMAIL_LENGTH) {
    return { ok: false, reason: `email is ${email.length} characters, longer than ${MAX_EMAIL_LENGTH}` };
  }
  const displayName = clean(facts.displayName) ?? email;
  const fields: PersonFields = {
    displayName,
    givenName: clean(facts.givenName),
    surname: clean(facts.surname),
    email,
    jobTitle: clean(facts.jobTitle),
    department: clean(facts.department),
    officeLocation: clean(facts.officeLocation),
    employeeId: clean(facts.employeeId),
    hireDate: facts.employeeHireDate ? normalizeDate(facts.employeeHireDate) : null,
    managerId: user.managerId ? personIdFor(tenantId, user.managerId) : null,
  };
  for (const name of PERSON_FIELD_NAMES) {
    const value = fields[name];
    if (typeof value === 'string' && value.length > MAX_TEXT_LENGTH) {
      return { ok: false, reason: `${name} is ${value.length} characters, longer than ${MAX_TEXT_LENGTH}` };
    }
  }
  return { ok: true, fields };
}

function clean(value: string | null): string | null {
  if (value === null) return null;
  const trimmed = value.trim();
  return trimmed === '' ? null : trimmed;
}

export function normalizeEmail(value: string | null): string | null {
  const cleaned = value ? clean(value) : null;
  return cleaned ? cleaned.toLowerCase() : null;
}

function normalizeDate(value: string): string | null {
  const time = Date.parse(value);
  return Number.isNaN(time) ? null : new Date(time).toISOString().slice(0, 10);
}
