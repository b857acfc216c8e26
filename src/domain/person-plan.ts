import type { MirrorUser } from './directory.js';
import { personIdFor } from './person-id.js';
import { mapUserToPerson, PERSON_FIELD_NAMES, type PersonFields } from './person-mapping.js';
import { decideStatusTransition, type PersonStatus } from './person-status.js';
import { isUserInScope } from './scope.js';

/** The projection of one Entra user: a person in the app's directory. */
export interface Person extends PersonFields {
  readonly personId: string;
  readonly sourceObjectId: string;
  readonly status: PersonStatus;
  readonly previousStatus: PersonStatus | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export const RUN_OUTCOMES = [
  'created',
  'updated',
  'deactivated',
  'removed',
  'reactivated',
  'unchanged',
  'skipped',
  'failed',
] as const;
export type Outcome = (typeof RUN_OUTCOMES)[number];

export type PersonPlan =
  | { readonly outcome: 'unchanged' | 'skipped'; readonly person: Person | undefined }
  | { readonly outcome: 'failed'; readonly person: Person | undefined; readonly reason: string }
  | { readonly outcome: Exclude<Outcome, 'unchanged' | 'skipped' | 'failed'>; readonly person: Person };

/**
 * Decides what happens to a person when its Entra user is as `user` says (after the change): create,
 * update, deactivate, remove, reactivate, or nothing. Pure: the caller reads and writes.
 */
export function planPerson(
  tenantId: string,
  user: MirrorUser,
  existing: Person | undefined,
  now: string,
): PersonPlan {
  const inScope = isUserInScope(user);
  if (!existing && !inScope) return { outcome: 'skipped', person: undefined };

  if (inScope) {
    const mapped = mapUserToPerson(tenantId, user);
    if (!mapped.ok) return { outcome: 'failed', person: existing, reason: mapped.reason };
    if (!existing) {
      return {
        outcome: 'created',
        person: {
          ...mapped.fields,
          personId: personIdFor(tenantId, user.id),
          sourceObjectId: user.id,
          status: 'created',
          previousStatus: null,
          createdAt: now,
          updatedAt: now,
        },
      };
    }
    const transition = decideStatusTransition(existing.status, existing.previousStatus, true);
    const fieldsChanged = PERSON_FIELD_NAMES.some((name) => existing[name] !== mapped.fields[name]);
    if (transition.kind === 'return') {
      return {
        outcome: 'reactivated',
        person: {
          ...existing,
          ...mapped.fields,
          status: transition.status,
          previousStatus: null,
          updatedAt: now,
        },
      };
    }
    if (!fieldsChanged) return { outcome: 'unchanged', person: existing };
    return { outcome: 'updated', person: { ...existing, ...mapped.fields, updatedAt: now } };
  }

  // Out of scope with a person: the status rule decides; profile fields follow the last values Entra
  // gave (a deletion keeps the last known ones), so the outcome does not depend on the order in which
  // changes arrive. A leaver whose profile cannot be mapped keeps the one it has.
  const current = existing!;
  const mapped = user.facts ? mapUserToPerson(tenantId, user) : undefined;
  const fields = mapped?.ok ? mapped.fields : undefined;
  const fieldsChanged =
    fields !== undefined && PERSON_FIELD_NAMES.some((name) => current[name] !== fields[name]);
  const transition = decideStatusTransition(current.status, current.previousStatus, false);
  if (transition.kind !== 'leave') {
    if (!fieldsChanged) return { outcome: 'unchanged', person: current };
    return { outcome: 'updated', person: { ...current, ...fields, updatedAt: now } };
  }
  return {
    outcome: transition.status,
    person: {
      ...current,
      ...fields,
      status: transition.status,
      previousStatus: transition.previousStatus,
      updatedAt: now,
    },
  };
}
