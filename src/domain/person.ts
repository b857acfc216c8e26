import type { PersonStatus } from './person-status.js';
import type { PersonField } from './policy.js';

/**
 * A person of the app's directory: made by sync from an Entra user (`origin: 'entra'`) or by the app
 * (`origin: 'app'`, by hand through POST /api/people), linked to at most one Entra user by object id.
 * The app edits its fields, custom properties and status; sync merges Entra's values in under the
 * connection's merge strategy, three-way: `synced` keeps, per field key, the value sync last wrote.
 *
 * Field keys: the built-in field names (PERSON_FIELDS) and `custom.<name>` for custom properties.
 */
/** A mapped value (the same shape as merge.ts's FieldValue). */
export type FieldValue = string | number | boolean | readonly string[] | null;

export type PersonValues = { readonly [K in PersonField]: string | null };

export interface HistoryEntry {
  /** ISO time the change was applied. */
  readonly at: string;
  /** The run that applied it ('' for the app's own edits). */
  readonly runId: string;
  /** created, updated, deactivated, removed, reactivated, linked, edited (by the app), … */
  readonly kind: string;
  /** The rule that decided it, in words (e.g. `scope: not a member of any scope group`). */
  readonly rule: string;
  /** The fields it changed, from → to. */
  readonly changes?: readonly { readonly key: string; readonly from: FieldValue; readonly to: FieldValue }[];
}

export interface PersonRecord extends PersonValues {
  readonly personId: string;
  readonly origin: 'entra' | 'app';
  /** The Entra user it is linked to; null when not linked (made by hand, or its user was hard-deleted). */
  readonly sourceObjectId: string | null;
  /** The Entra user it was linked to before that user was deleted for good (absent = never). */
  readonly formerObjectId?: string | null;
  readonly status: PersonStatus;
  /** The status it had before it left the directory (restored on return). */
  readonly previousStatus: PersonStatus | null;
  /** The manager's person (decided by the managers rule), null when none. */
  readonly managerId: string | null;
  /** The manager Entra gives (its object id), from which the managers rule decides `managerId`. */
  readonly entraManagerId: string | null;
  /** Why the manager is not linked (manager-missing, manager-out-of-scope, manager-cycle), or null. */
  readonly managerProblem: string | null;
  /** Custom property values by name. */
  readonly custom: Readonly<Record<string, FieldValue>>;
  /** What sync last wrote, by field key (the base of the three-way merge). */
  readonly synced: Readonly<Record<string, FieldValue>>;
  /** The app teams sync keeps it in (team ids), sorted. */
  readonly teams: readonly string[];
  /** The latest applied changes, newest last (older ones move to the personHistory table). */
  readonly history: readonly HistoryEntry[];
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** Most history entries kept on the person's row; older ones are moved to personHistory. */
export const HISTORY_ON_ROW = 20;

/** A person's value for a field key (`displayName`, `custom.costCenter`). */
export function valueOf(person: PersonRecord, key: string): FieldValue {
  if (key.startsWith('custom.')) return person.custom[key.slice('custom.'.length)] ?? null;
  return (person as unknown as Record<string, FieldValue>)[key] ?? null;
}
