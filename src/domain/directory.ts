/**
 * The mirror: the tenant as Graph last described it. Written only from Graph data.
 */
import { isNewer, roundOf } from './version.js';

/** The user properties the pipeline selects from Graph (every property the default mapping needs). */
export const MIRRORED_USER_PROPERTIES = [
  'displayName',
  'givenName',
  'surname',
  'mail',
  'userPrincipalName',
  'jobTitle',
  'department',
  'officeLocation',
  'employeeId',
  'employeeHireDate',
  'accountEnabled',
  'userType',
  'proxyAddresses',
] as const;

export type MirroredUserProperty = (typeof MIRRORED_USER_PROPERTIES)[number];

export interface UserFacts {
  readonly displayName: string | null;
  readonly givenName: string | null;
  readonly surname: string | null;
  readonly mail: string | null;
  readonly userPrincipalName: string | null;
  readonly jobTitle: string | null;
  readonly department: string | null;
  readonly officeLocation: string | null;
  readonly employeeId: string | null;
  readonly employeeHireDate: string | null;
  readonly accountEnabled: boolean | null;
  readonly userType: string | null;
  readonly proxyAddresses: readonly string[];
  /** `onPremisesExtensionAttributes` (extensionAttribute1…15) as Graph gave them; absent = none. */
  readonly onPremisesExtensionAttributes?: Readonly<Record<string, string | null>> | null;
  /**
   * Every other selected property (MIRRORED_MORE_PROPERTIES) and every directory extension
   * (`extension_<appId>_<name>`), by Graph name; absent = null. So any mapping or `$filter` can be
   * evaluated on the mirror with no Graph call.
   */
  readonly more?: Readonly<Record<string, JsonValue>>;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Custom security attributes by attribute set, then attribute (read by their own pass, not delta). */
export type SecurityAttributes = Readonly<Record<string, Readonly<Record<string, JsonValue>>>>;

/** `soft`: Graph's `@removed: changed` (restorable for 30 days); `hard`: `@removed: deleted`. */
export type Deletion = 'soft' | 'hard';

/** A direct membership as Graph last described it (kept after removal, for version ordering). */
export interface Membership {
  readonly present: boolean;
  readonly version: string;
}

export interface MirrorUser {
  readonly id: string;
  /** null until Graph described the user itself (a membership can arrive first). */
  readonly facts: UserFacts | null;
  /** Version of the change that last set the facts (a deletion keeps the last known facts). */
  readonly factsVersion: string;
  readonly managerId: string | null;
  /**
   * Version of the change that last set the manager ('' = never). Kept apart from `version`, because
   * Graph sends `manager@delta` only when the manager changed: a later change of another property
   * must not make an earlier manager change look stale.
   */
  readonly managerVersion: string;
  readonly deleted: Deletion | null;
  /**
   * Version of the last change that said whether the user exists (a deletion, or a description, which
   * is a restore): '' when only memberships are known.
   */
  readonly version: string;
  /** The groups this user is (or was) a direct member of, by group id. */
  readonly memberships: Readonly<Record<string, Membership>>;
  /**
   * Custom security attributes as the last security-attribute pass read them (delta does not track
   * them); absent = never read.
   */
  readonly securityAttributes?: SecurityAttributes;
  /** When that pass read them (ISO time). */
  readonly securityAttributesAt?: string;
}

export interface GroupFacts {
  readonly displayName: string | null;
  readonly description: string | null;
  readonly mailNickname: string | null;
}

export interface MirrorGroup {
  readonly id: string;
  readonly facts: GroupFacts | null;
  readonly deleted: Deletion | null;
  readonly version: string;
  /**
   * Version of the change that last turned the group deleted or back (''= never): the change whose
   * chunk owes the group's members a recomputation of their teams, redone when that chunk is redelivered.
   */
  readonly deletionVersion: string;
  /** Groups nested in this one (direct group members), by group id. */
  readonly groupMembers: Readonly<Record<string, Membership>>;
}

export type MemberType = 'user' | 'group';

/** A direct membership edge: `memberId` is a direct member of `groupId`. */
export interface MirrorEdge {
  readonly groupId: string;
  readonly memberId: string;
  readonly memberType: MemberType;
  readonly present: boolean;
  readonly version: string;
}

/** A change as the fetcher found it in a delta page, with its version. */
export type DirectoryChange = UserChange | GroupChange | EdgeChange;

export interface UserChange {
  readonly kind: 'user';
  readonly id: string;
  readonly version: string;
  /** Present for a deletion. */
  readonly removed?: Deletion;
  /** Every selected property (absent in Graph's answer = null). Absent for a deletion. */
  readonly facts?: UserFacts;
  /** `manager@delta`: absent = unchanged; null = manager removed. */
  readonly manager?: string | null;
}

export interface GroupChange {
  readonly kind: 'group';
  readonly id: string;
  readonly version: string;
  readonly removed?: Deletion;
  readonly facts?: GroupFacts;
}

export interface EdgeChange {
  readonly kind: 'edge';
  readonly groupId: string;
  readonly memberId: string;
  readonly memberType: MemberType;
  readonly present: boolean;
  readonly version: string;
}

/**
 * Applies a user change to the mirror row it concerns, fact by fact, each only if the change is newer
 * than the change that set it, so changes commute (any delivery order gives the same row): whether
 * the user exists (a deletion, or a description that restores it), its properties (replaced
 * together; a deletion keeps the last known ones) and its manager (`manager@delta`: absent =
 * unchanged, null = removed). Memberships are untouched (they come from group changes). Returns
 * `before` itself when nothing is newer.
 */
export function applyUserChange(before: MirrorUser | undefined, change: UserChange): MirrorUser {
  const base = before ?? unknownUser(change.id);
  const stateNewer = isNewer(change.version, base.version || undefined);
  const factsNewer = change.facts !== undefined && isNewer(change.version, base.factsVersion || undefined);
  const managerNewer =
    change.manager !== undefined && isNewer(change.version, base.managerVersion || undefined);
  if (!stateNewer && !factsNewer && !managerNewer) return before ?? base;
  let next: MirrorUser = base;
  if (stateNewer) next = { ...next, deleted: change.removed ?? null, version: change.version };
  if (factsNewer) next = { ...next, facts: change.facts, factsVersion: change.version };
  if (managerNewer) next = { ...next, managerId: change.manager ?? null, managerVersion: change.version };
  return next;
}

/** The mirror row of a user Graph has not described yet, known only through memberships. */
export function unknownUser(id: string): MirrorUser {
  return {
    id,
    facts: null,
    factsVersion: '',
    managerId: null,
    managerVersion: '',
    deleted: null,
    version: '',
    memberships: {},
  };
}

/**
 * Applies a membership change (an edge whose member is this user) if it is newer than what the row
 * holds for that group; returns the row unchanged otherwise.
 */
export function applyMembershipChange(user: MirrorUser, change: EdgeChange): MirrorUser {
  const current = user.memberships[change.groupId];
  if (current && current.version >= change.version) return user;
  return {
    ...user,
    memberships: {
      ...user.memberships,
      [change.groupId]: { present: change.present, version: change.version },
    },
  };
}

/**
 * Drops the removed memberships that no change can still contradict: those set in a settled round
 * (every chunk of every round up to `settledRound` has been applied, and changes of those rounds are
 * ignored from then on), so removed memberships do not accumulate without bound.
 */
export function withoutSettledRemovals(
  memberships: Readonly<Record<string, Membership>>,
  settledRound: number,
): Readonly<Record<string, Membership>> {
  let pruned: Record<string, Membership> | undefined;
  for (const [groupId, membership] of Object.entries(memberships)) {
    if (membership.present || roundOf(membership.version) > settledRound) continue;
    pruned ??= { ...memberships };
    delete pruned[groupId];
  }
  return pruned ?? memberships;
}
