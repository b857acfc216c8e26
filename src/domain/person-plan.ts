import type { CustomPropertyType } from './coerce.js';
import type { MirrorUser } from './directory.js';
import { type Conflict, type FieldValue, mergeFields, sameValue } from './merge.js';
import { type HistoryEntry, type PersonRecord, valueOf } from './person.js';
import { personIdFor } from './person-id.js';
import { mapUser } from './person-mapping.js';
import { decideStatusTransition, isOutOfDirectory, type PersonStatus } from './person-status.js';
import { PERSON_FIELDS, type Policy } from './policy.js';
import { decideScope, type ScopeRules } from './scope.js';
import { type TeamRules, teamsOf } from './team-membership.js';

export const RUN_OUTCOMES = [
  'created',
  'updated',
  'deactivated',
  'removed',
  'reactivated',
  'unchanged',
  'skipped',
  'failed',
  /** skip-conflicts: a person with a conflicting field was not updated. */
  'conflicted',
  /** Two people could be this user's: an admin decides (GET …/disputes). */
  'disputed',
] as const;
export type Outcome = (typeof RUN_OUTCOMES)[number];

/** Everything the planner needs besides the user and its person: the policy, compiled. */
export interface PlanContext {
  readonly tenantId: string;
  readonly runId: string;
  readonly now: string;
  readonly policy: Policy;
  readonly scope: ScopeRules;
  readonly teams: TeamRules;
  readonly customTypes: ReadonlyMap<string, CustomPropertyType>;
}

export interface PlanError {
  readonly category: 'invalid-data' | 'merge-conflict';
  readonly message: string;
  readonly field?: string;
}

/** What the planner decided for one user's person, with the rule that decided it. */
export interface PersonDecision {
  readonly outcome: Outcome;
  /** The person after the change (the person as it is when nothing changes; undefined when none). */
  readonly person: PersonRecord | undefined;
  readonly rule: string;
  /** It takes a person out of the directory: held until the run's whole change set is known (the gate). */
  readonly destructive: boolean;
  readonly errors: readonly PlanError[];
  readonly conflicts: readonly Conflict[];
}

/**
 * Decides what happens to the person of an Entra user whose mirror row is `user`: create, update,
 * deactivate, remove, reactivate, link, or nothing. `existing` is the person linked to the user, or
 * a candidate that matching chose (`linking`: it is linked now). Pure: the caller reads and writes.
 *
 * - Scope (scope.ts) says whether the user belongs; the status rule (person-status.ts) what a leaver
 *   or a returner becomes; a hard-deleted user's person is a leaver and is unlinked (a rehire
 *   candidate again). A linked person whose user Graph has not described yet is left as it is.
 * - Mapping (person-mapping.ts) gives Entra's values; the merge (merge.ts) decides, three-way against
 *   what sync last wrote, which of them are written under the connection's strategy. A leaver's
 *   profile keeps following Entra's values (a deleted user keeps its last known ones).
 * - Teams (team-membership.ts) follow group sync and team mapping while the person is in the directory.
 * - The manager is linked to the manager's own person when Entra's manager changes; the managers
 *   rule (managers.ts) corrects it over the whole directory once the run's changes are in.
 */
export function planPerson(
  ctx: PlanContext,
  user: MirrorUser,
  existing: PersonRecord | undefined,
  linking?: { readonly rule: string },
): PersonDecision {
  const scope = decideScope(user, ctx.scope);
  // A candidate is linked only to a user in scope: an account out of scope (a guest, a disabled account
  // sharing its email) never claims a person, nor takes it out of the directory.
  const linked =
    existing && (existing.sourceObjectId === user.id || (linking && scope.inScope)) ? existing : undefined;
  const none = (outcome: Outcome, rule: string, errors: PlanError[] = []): PersonDecision => ({
    outcome,
    person: linked,
    rule,
    destructive: false,
    errors,
    conflicts: [],
  });

  if (!linked) {
    if (!scope.inScope) return none('skipped', scope.rule);
    const mapped = mapUser(user, ctx.policy, ctx.customTypes);
    if (!mapped.ok)
      return none('failed', 'mapping: the user cannot be represented', [invalid(mapped.reason)]);
    const merged = mergeFields({
      strategy: ctx.policy.mergeStrategy,
      creating: true,
      current: {},
      base: {},
      fields: mapped.mapped.fields,
    });
    if (merged.kind !== 'write') return none('failed', 'merge: nothing to write');
    const values = withValues(emptyPerson(ctx, user), merged.values);
    const person: PersonRecord = {
      ...values,
      synced: merged.base,
      managerId: namedManager(ctx, user),
      entraManagerId: user.managerId,
      teams: teamsOf(user.memberships, true, ctx.teams),
      history: [entry(ctx, 'created', scope.rule)],
    };
    return {
      outcome: 'created',
      person,
      rule: scope.rule,
      destructive: false,
      errors: fieldErrors(mapped.mapped.invalid),
      conflicts: [],
    };
  }

  // Graph has not described the user yet (only memberships are known: the user's own chunk wrote the
  // person and died before its mirror row): missing facts say nothing of scope, so nothing changes until
  // they come. Never a leaver for want of facts.
  if (!user.facts && !user.deleted) return none('unchanged', `${scope.rule}; the person is left as it is`);

  const transition = decideStatusTransition(linked.status, linked.previousStatus, scope.inScope);
  const status: PersonStatus = transition.kind === 'none' ? linked.status : transition.status;
  const previousStatus =
    transition.kind === 'leave'
      ? transition.previousStatus
      : transition.kind === 'return'
        ? null
        : linked.previousStatus;

  // The profile: Entra's values merged in (a leaver's too, while Entra still describes it).
  const mapped = user.facts && !user.deleted ? mapUser(user, ctx.policy, ctx.customTypes) : undefined;
  if (mapped && !mapped.ok && scope.inScope) {
    return none('failed', 'mapping: the user cannot be represented', [invalid(mapped.reason)]);
  }
  let next: PersonRecord = linked;
  let conflicts: readonly Conflict[] = [];
  let skippedForConflicts = false;
  const errors: PlanError[] = [];
  if (mapped?.ok) {
    errors.push(...fieldErrors(mapped.mapped.invalid));
    const keys = mapped.mapped.fields.map((field) => field.key);
    // A person the app made, linked now: its own values count as the app's edits.
    const creating = linking !== undefined && linked.origin === 'app';
    const merged = mergeFields({
      strategy: ctx.policy.mergeStrategy,
      creating,
      current: Object.fromEntries(keys.map((key) => [key, valueOf(linked, key)])),
      base: linked.synced,
      fields: mapped.mapped.fields,
    });
    if (merged.kind === 'skipped') {
      skippedForConflicts = true;
      conflicts = merged.conflicts;
      for (const conflict of merged.conflicts) {
        errors.push({
          category: 'merge-conflict',
          field: conflict.key,
          message: `${conflict.key}: the app has ${show(conflict.app)}, Entra has ${show(conflict.entra)} (sync last wrote ${show(conflict.base)})`,
        });
      }
      // Linked now with nothing written: record that sync wrote nothing yet (a null base), so the app's
      // values stay the app's edits on the next runs instead of being overwritten without a conflict.
      if (creating) {
        const unwritten = keys.filter((key) => !Object.prototype.hasOwnProperty.call(linked.synced, key));
        next = {
          ...next,
          synced: { ...linked.synced, ...Object.fromEntries(unwritten.map((key) => [key, null])) },
        };
      }
    } else {
      next = { ...withValues(next, merged.values), synced: { ...linked.synced, ...merged.base } };
      conflicts = merged.kept;
    }
  }
  const managerChanged = (linked.entraManagerId ?? null) !== user.managerId && !user.deleted;
  const unlink = user.deleted === 'hard';
  const inDirectory = !isOutOfDirectory(status);
  next = {
    ...next,
    sourceObjectId: unlink ? null : user.id,
    ...(unlink ? { formerObjectId: user.id } : {}),
    status,
    previousStatus,
    ...(unlink ? { managerId: null, entraManagerId: null, managerProblem: null } : {}),
    ...(managerChanged && !unlink ? { entraManagerId: user.managerId } : {}),
    // The manager link as the managers rule will decide it, as far as the planner knows: none out of the
    // directory (so the rule has nothing to correct there), the manager Entra names when it changed or
    // the person comes back (the rule corrects it when that manager is not in the directory).
    ...(!inDirectory
      ? { managerId: null, managerProblem: null }
      : managerChanged || transition.kind === 'return'
        ? { managerId: namedManager(ctx, user) }
        : {}),
    teams: teamsOf(user.memberships, inDirectory, ctx.teams),
  };

  const changes = changedFields(linked, next);
  const same =
    changes.length === 0 &&
    next.status === linked.status &&
    next.previousStatus === linked.previousStatus &&
    next.sourceObjectId === linked.sourceObjectId &&
    next.managerId === linked.managerId &&
    next.managerProblem === linked.managerProblem &&
    next.entraManagerId === linked.entraManagerId &&
    sameList(next.teams, linked.teams);
  if (same) {
    // Only the merge base moved (a new mapping's first value equal to the person's own, an app edit
    // Entra caught up with): written, with no history entry, and nothing the app sees changed.
    const quiet = JSON.stringify(next.synced) === JSON.stringify(linked.synced) ? {} : { person: next };
    if (skippedForConflicts)
      return { ...none('conflicted', 'merge: skip-conflicts', errors), conflicts, ...quiet };
    return { ...none('unchanged', scope.rule, errors), conflicts, ...quiet };
  }

  let outcome: Outcome;
  let rule: string;
  if (transition.kind === 'leave') {
    outcome = transition.status;
    rule = `${scope.rule}; status: a leaver is ${transition.status} when ${transition.previousStatus}`;
  } else if (transition.kind === 'return') {
    outcome = 'reactivated';
    rule = `${scope.rule}; status: back to ${transition.status}`;
  } else if (linking) {
    outcome = 'updated';
    rule = linking.rule;
  } else if (skippedForConflicts) {
    outcome = 'conflicted';
    rule = 'merge: skip-conflicts (fields not updated)';
  } else {
    outcome = 'updated';
    rule =
      changes.length > 0
        ? `mapping: Entra changed ${changes.map((c) => c.key).join(', ')}`
        : 'teams: memberships changed';
  }
  if (unlink) rule += '; matching: unlinked (the user was deleted for good), a rehire candidate again';
  const person: PersonRecord = {
    ...next,
    updatedAt: ctx.now,
    history: [...linked.history, entry(ctx, outcome === 'conflicted' ? 'updated' : outcome, rule, changes)],
  };
  return { outcome, person, rule, destructive: transition.kind === 'leave', errors, conflicts };
}

/** The person of the manager Entra names (the managers rule corrects it when not in the directory). */
function namedManager(ctx: PlanContext, user: MirrorUser): string | null {
  return user.managerId ? personIdFor(ctx.tenantId, user.managerId) : null;
}

function emptyPerson(ctx: PlanContext, user: MirrorUser): PersonRecord {
  return {
    personId: personIdFor(ctx.tenantId, user.id),
    origin: 'entra',
    sourceObjectId: user.id,
    status: 'created',
    previousStatus: null,
    displayName: null,
    givenName: null,
    surname: null,
    email: null,
    jobTitle: null,
    department: null,
    officeLocation: null,
    employeeId: null,
    hireDate: null,
    managerId: null,
    entraManagerId: null,
    managerProblem: null,
    custom: {},
    synced: {},
    teams: [],
    history: [],
    createdAt: ctx.now,
    updatedAt: ctx.now,
  };
}

/** The person with these field-key values set (built-in fields and `custom.<name>`). */
function withValues(person: PersonRecord, values: Readonly<Record<string, FieldValue>>): PersonRecord {
  const fields: Record<string, FieldValue> = {};
  const custom: Record<string, FieldValue> = { ...person.custom };
  for (const [key, value] of Object.entries(values)) {
    if (key.startsWith('custom.')) custom[key.slice('custom.'.length)] = value;
    else fields[key] = typeof value === 'string' || value === null ? value : String(value);
  }
  return { ...person, ...fields, custom };
}

function changedFields(
  before: PersonRecord,
  after: PersonRecord,
): { key: string; from: FieldValue; to: FieldValue }[] {
  const keys = [
    ...PERSON_FIELDS,
    ...new Set([...Object.keys(before.custom), ...Object.keys(after.custom)].map((name) => `custom.${name}`)),
  ];
  const changes: { key: string; from: FieldValue; to: FieldValue }[] = [];
  for (const key of keys) {
    const from = valueOf(before, key);
    const to = valueOf(after, key);
    if (!sameValue(from, to)) changes.push({ key, from, to });
  }
  return changes;
}

function entry(
  ctx: PlanContext,
  kind: string,
  rule: string,
  changes?: { key: string; from: FieldValue; to: FieldValue }[],
): HistoryEntry {
  return { at: ctx.now, runId: ctx.runId, kind, rule, ...(changes && changes.length > 0 ? { changes } : {}) };
}

function invalid(message: string, field?: string): PlanError {
  return { category: 'invalid-data', message, ...(field ? { field } : {}) };
}

function fieldErrors(list: readonly { key: string; reason: string }[]): PlanError[] {
  return list.map((item) => invalid(`${item.key}: ${item.reason}`, item.key));
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

function show(value: FieldValue): string {
  return value === null ? 'nothing' : JSON.stringify(value);
}
