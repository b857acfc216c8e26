/**
 * Type coercion of a mapped value into an app custom property's type. A value that cannot be coerced is
 * `invalid-data` for that person and field (the caller reports the reason); coercion never throws.
 *
 * - null, undefined, '' and whitespace-only text → null, whatever the type.
 * - `string`: text trimmed (at most 1,024 characters), finite numbers and booleans as text.
 * - `number`: finite numbers, and decimal text with a '.' decimal point ('1.5', '-2', '1e3'; not '1,5').
 * - `boolean`: booleans, the numbers 1 and 0, and the text true/false/yes/no/1/0 in any case.
 * - `date`: an ISO date (YYYY-MM-DD) or date-time (YYYY-MM-DDThh:mm[:ss[.fff]][Z|±hh:mm]) → its date as
 *   written, YYYY-MM-DD (no time-zone shift: Graph's dates such as employeeHireDate are midnight UTC).
 * - `string-list`: a list of texts, each trimmed (at most 1,024 characters), empty ones dropped; one text
 *   → a list of it.
 * Coercing a coerced value gives it back unchanged.
 */
import type { FieldValue } from './merge.js';

export const CUSTOM_PROPERTY_TYPES = ['string', 'number', 'boolean', 'date', 'string-list'] as const;
export type CustomPropertyType = (typeof CUSTOM_PROPERTY_TYPES)[number];

export type Coercion = { ok: true; value: FieldValue } | { ok: false; reason: string };

export const MAX_TEXT_LENGTH = 1_024;

/** What came, in a few words, for a reason (texts cut at 40 characters). */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    return `the text ${JSON.stringify(shown)}${value.length > 40 ? ` (${value.length} characters)` : ''}`;
  }
  if (typeof value === 'number') return `the number ${String(value)}`;
  if (typeof value === 'boolean') return `the boolean ${String(value)}`;
  if (Array.isArray(value)) return `a list of ${value.length} value${value.length === 1 ? '' : 's'}`;
  if (value instanceof Date) return 'a Date object';
  if (typeof value === 'object' && value !== null) return 'an object';
  return `a value of type ${typeof value}`;
}

const invalid = (expected: string, value: unknown): Coercion => ({
  ok: false,
  reason: `expected ${expected}, got ${describeValue(value)}`,
});

const NUMERIC = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/i;
const TRUE_TEXTS = new Set(['true', 'yes', '1']);
const FALSE_TEXTS = new Set(['false', 'no', '0']);

function isCalendarDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
  return day <= days;
}

function coerceDateText(text: string): Coercion {
  const match = ISO_DATE.exec(text);
  if (!match) return invalid('an ISO date (YYYY-MM-DD) or date-time', text);
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (!isCalendarDate(year, month, day)) return invalid('an existing calendar date', text);
  const time = match[4];
  if (time !== undefined) {
    const [hours, minutes] = [Number(time.slice(1, 3)), Number(time.slice(4, 6))];
    const seconds = match[5] === undefined ? 0 : Number(match[5].slice(1, 3));
    if (hours > 23 || minutes > 59 || seconds > 59) return invalid('a valid time of day', text);
  }
  return { ok: true, value: `${match[1]}-${match[2]}-${match[3]}` };
}

function coerceText(value: unknown): Coercion {
  if (typeof value === 'string') {
    const text = value.trim();
    if (text.length > MAX_TEXT_LENGTH)
      return invalid(`a text of at most ${MAX_TEXT_LENGTH} characters`, value);
    return { ok: true, value: text };
  }
  if (typeof value === 'number')
    return Number.isFinite(value) ? { ok: true, value: String(value) } : invalid('a text', value);
  if (typeof value === 'boolean') return { ok: true, value: String(value) };
  return invalid('a text', value);
}

export function coerceValue(value: unknown, type: CustomPropertyType): Coercion {
  if (value === null || value === undefined) return { ok: true, value: null };
  if (typeof value === 'string' && value.trim() === '') return { ok: true, value: null };
  switch (type) {
    case 'string':
      return coerceText(value);
    case 'number': {
      if (typeof value === 'number')
        return Number.isFinite(value) ? { ok: true, value } : invalid('a finite number', value);
      if (typeof value === 'string') {
        const text = value.trim();
        const parsed = Number(text);
        if (NUMERIC.test(text) && Number.isFinite(parsed)) return { ok: true, value: parsed };
      }
      return invalid("a number (digits, '.' as the decimal point)", value);
    }
    case 'boolean': {
      if (typeof value === 'boolean') return { ok: true, value };
      if (value === 1 || value === 0) return { ok: true, value: value === 1 };
      if (typeof value === 'string') {
        const text = value.trim().toLowerCase();
        if (TRUE_TEXTS.has(text)) return { ok: true, value: true };
        if (FALSE_TEXTS.has(text)) return { ok: true, value: false };
      }
      return invalid('a boolean (true/false, yes/no, 1/0)', value);
    }
    case 'date':
      if (typeof value === 'string') return coerceDateText(value.trim());
      if (value instanceof Date && Number.isFinite(value.getTime()))
        return { ok: true, value: value.toISOString().slice(0, 10) };
      return invalid('an ISO date (YYYY-MM-DD) or date-time', value);
    case 'string-list': {
      const items: unknown[] = Array.isArray(value) ? value : [value];
      const list: string[] = [];
      for (const item of items) {
        if (typeof item !== 'string') return invalid('a list of texts', value);
        const text = item.trim();
        if (text.length > MAX_TEXT_LENGTH)
          return invalid(`texts of at most ${MAX_TEXT_LENGTH} characters`, item);
        if (text !== '') list.push(text);
      }
      return { ok: true, value: list };
    }
  }
}
