import { coerceValue, type CustomPropertyType } from './coerce.js';
import type { MirrorUser } from './directory.js';
import type { FieldInput, FieldValue } from './merge.js';
import { PERSON_FIELDS, type PersonField, type Policy } from './policy.js';
import { readUserPath } from './user-paths.js';

/**
 * Maps an in-scope Entra user to the values sync offers the app (the merge decides which it
 * writes): the default mapping of the built-in fields (display name, given name, surname, email —
 * mail, else userPrincipalName —, job title, department, office, employee id, hire date), each
 * written as the policy's `fieldWrites` says, then the policy's custom mappings (a mapping to a
 * built-in field replaces its default; one to a custom property is coerced to the property's type).
 * A user the app cannot hold at all (no email, a text too long) is refused; a custom value that
 * cannot be coerced is invalid for that field only, and the rest is mapped.
 */
export interface MappedUser {
  readonly fields: readonly FieldInput[];
  readonly invalid: readonly { readonly key: string; readonly reason: string }[];
}

export type MappingResult =
  { readonly ok: true; readonly mapped: MappedUser } | { readonly ok: false; readonly reason: string };

/** Longest value the app accepts in a built-in text field (an email: RFC 5321's 254 characters). */
export const MAX_TEXT_LENGTH = 256;
export const MAX_EMAIL_LENGTH = 254;

const DEFAULT_SOURCES: Readonly<Record<PersonField, string>> = {
  displayName: 'displayName',
  givenName: 'givenName',
  surname: 'surname',
  email: 'mail',
  jobTitle: 'jobTitle',
  department: 'department',
  officeLocation: 'officeLocation',
  employeeId: 'employeeId',
  hireDate: 'employeeHireDate',
};

export function mapUser(
  user: MirrorUser,
  policy: Policy,
  customTypes: ReadonlyMap<string, CustomPropertyType>,
): MappingResult {
  const facts = user.facts;
  if (!facts) return { ok: false, reason: 'no properties were received for this user' };
  const email = normalizeEmail(facts.mail) ?? normalizeEmail(facts.userPrincipalName);
  if (!email) return { ok: false, reason: 'the user has neither mail nor userPrincipalName' };
  if (email.length > MAX_EMAIL_LENGTH) {
    return { ok: false, reason: `email is ${email.length} characters, longer than ${MAX_EMAIL_LENGTH}` };
  }
  const overridden = new Map<PersonField, (typeof policy.mappings)[number]>();
  for (const mapping of policy.mappings) {
    if ('field' in mapping.target) overridden.set(mapping.target.field, mapping);
  }
  const fields: FieldInput[] = [];
  const invalid: { key: string; reason: string }[] = [];
  for (const field of PERSON_FIELDS) {
    const mapping = overridden.get(field);
    let value: FieldValue;
    if (mapping) {
      const coerced = coerceValue(
        readUserPath(user, mapping.source),
        field === 'hireDate' ? 'date' : 'string',
      );
      if (!coerced.ok) {
        invalid.push({ key: field, reason: `${mapping.source}: ${coerced.reason}` });
        continue;
      }
      value =
        field === 'email' && typeof coerced.value === 'string' ? coerced.value.toLowerCase() : coerced.value;
    } else {
      value = defaultValue(field, user, email);
    }
    if (typeof value === 'string' && value.length > MAX_TEXT_LENGTH) {
      if (!mapping)
        return {
          ok: false,
          reason: `${field} is ${value.length} characters, longer than ${MAX_TEXT_LENGTH}`,
        };
      invalid.push({ key: field, reason: `${value.length} characters, longer than ${MAX_TEXT_LENGTH}` });
      continue;
    }
    if (field === 'displayName' && (value === null || value === '')) value = email;
    fields.push({ key: field, entra: value, when: mapping?.when ?? policy.fieldWrites[field] ?? 'always' });
  }
  for (const mapping of policy.mappings) {
    if (!('customProperty' in mapping.target)) continue;
    const name = mapping.target.customProperty;
    const key = `custom.${name}`;
    const type = customTypes.get(name);
    if (!type) {
      invalid.push({ key, reason: `custom property ${name} is not defined` });
      continue;
    }
    const coerced = coerceValue(readUserPath(user, mapping.source), type);
    if (!coerced.ok) {
      invalid.push({ key, reason: `${mapping.source}: ${coerced.reason}` });
      continue;
    }
    fields.push({ key, entra: coerced.value, when: mapping.when });
  }
  return { ok: true, mapped: { fields, invalid } };
}

function defaultValue(field: PersonField, user: MirrorUser, email: string): FieldValue {
  if (field === 'email') return email;
  const raw = readUserPath(user, DEFAULT_SOURCES[field]);
  if (typeof raw !== 'string') return null;
  if (field === 'hireDate') return normalizeDate(raw);
  return clean(raw);
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
