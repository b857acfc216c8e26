/**
 * The three-way merge of one person's mapped fields: the app's value now (`current`), the value sync last
 * wrote (`base`) and Entra's value, under the connection's merge strategy and each field's write rule.
 *
 * - A field is app-edited when current ≠ base. A field sync never wrote (no base) counts as not edited
 *   (its base is taken to be the current value), except when the person is being created, where its base
 *   is null (a value the app set before the first link is the app's).
 * - A conflict is current ≠ base, Entra ≠ base and current ≠ Entra.
 * - `when`: `always` writes every time, `on-create` only when creating, `if-empty` only while the current
 *   value is null, '' or []. A field its rule does not write keeps its value and its base, and never
 *   conflicts.
 * - `entra-wins`: Entra's value. `app-wins`: an app-edited field keeps the app's value and its base (the
 *   conflicts among them are reported as `kept`); the others get Entra's. `skip-conflicts`: an app edit Entra did not change stays; any conflict
 *   skips the whole person (nothing is written, every conflict is reported); otherwise as `entra-wins`.
 * - Writing Entra's value makes it the field's base. Lists compare element by element, in order.
 */
import type { MergeStrategy, WriteWhen } from './policy.js';

export type FieldValue = string | number | boolean | readonly string[] | null;

export interface FieldInput {
  readonly key: string;
  readonly entra: FieldValue;
  readonly when: WriteWhen;
}

export interface MergeInput {
  readonly strategy: MergeStrategy;
  readonly creating: boolean;
  /** The person's values now (the app's edits included); absent = null. */
  readonly current: Readonly<Record<string, FieldValue>>;
  /** What sync last wrote, per key (absent = never). */
  readonly base: Readonly<Record<string, FieldValue>>;
  readonly fields: readonly FieldInput[];
}

export interface Conflict {
  readonly key: string;
  readonly app: FieldValue;
  readonly entra: FieldValue;
  readonly base: FieldValue;
}

export type MergeResult =
  | {
      readonly kind: 'write';
      /** The next value of every key in `fields`. */
      readonly values: Record<string, FieldValue>;
      /** The next base of every key in `fields`. */
      readonly base: Record<string, FieldValue>;
      /** Keys whose value changes (in `fields` order). */
      readonly changed: readonly string[];
      /** `app-wins`: the conflicts resolved for the app. */
      readonly kept: readonly Conflict[];
    }
  | { readonly kind: 'skipped'; readonly conflicts: readonly Conflict[] };

export function sameValue(a: FieldValue, b: FieldValue): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => v === b[i]);
  }
  return a === b;
}

export function isEmptyValue(value: FieldValue): boolean {
  return value === null || value === '' || (Array.isArray(value) && value.length === 0);
}

function writes(when: WriteWhen, creating: boolean, current: FieldValue): boolean {
  if (when === 'on-create') return creating;
  if (when === 'if-empty') return isEmptyValue(current);
  return true;
}

const own = (record: Readonly<Record<string, FieldValue>>, key: string): boolean =>
  Object.prototype.hasOwnProperty.call(record, key);

export function mergeFields(input: MergeInput): MergeResult {
  const values: Record<string, FieldValue> = {};
  const base: Record<string, FieldValue> = {};
  const changed: string[] = [];
  const conflicts: Conflict[] = [];
  const kept: Conflict[] = [];
  for (const field of input.fields) {
    const { key, entra } = field;
    const current = own(input.current, key) ? input.current[key]! : null;
    const was = own(input.base, key) ? input.base[key]! : input.creating ? null : current;
    let next = current;
    let nextBase = was;
    if (writes(field.when, input.creating, current)) {
      const edited = !sameValue(current, was);
      const conflict = edited && !sameValue(entra, was) && !sameValue(current, entra);
      const conflictOf = (): Conflict => ({ key, app: current, entra, base: was });
      if (conflict) conflicts.push(conflictOf());
      // skip-conflicts writes Entra's changes only: an edit of the app's that Entra did not contradict stays.
      const oneSidedEdit = edited && sameValue(entra, was);
      if (input.strategy === 'app-wins' && edited) {
        if (conflict) kept.push(conflictOf());
      } else if (input.strategy === 'skip-conflicts' && oneSidedEdit) {
        // kept as the app has it
      } else {
        next = entra;
        nextBase = entra;
      }
    }
    values[key] = next;
    base[key] = nextBase;
    if (!sameValue(next, current)) changed.push(key);
  }
  if (input.strategy === 'skip-conflicts' && conflicts.length > 0) return { kind: 'skipped', conflicts };
  return { kind: 'write', values, base, changed, kept };
}
