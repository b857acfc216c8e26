/**
 * The mirror: the tenant as Graph last described it. Written only from Graph data.
 */

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
}

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
  readonly managerId: string | null;
  readonly deleted: Deletion | null;
  /** Version of the last user change applied ('' when only memberships are known). */
  readonly version: string;
  /** The groups this user is (or was) a direct member of, by group id. */
  readonly memberships: Readonly<Record<string, Membership>>;
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
 * Applies a user change to the mirror row it concerns: properties replace, the manager merges
 * (absent = unchanged), memberships are untouched (they come from group changes).
 */
export function applyUserChange(before: MirrorUser | undefined, change: UserChange): MirrorUser {
  const memberships = before?.memberships ?? {};
  if (change.removed) {
    return {
      id: change.id,
      facts: before?.facts ?? null,
      managerId: before?.managerId ?? null,
      deleted: change.removed,
      version: change.version,
      memberships,
    };
  }
  return {
    id: change.id,
    facts: change.facts ?? before?.facts ?? null,
    managerId: change.manager === undefined ? (before?.managerId ?? null) : change.manager,
    deleted: null,
    version: change.version,
    memberships,
  };
}

/** The mirror row of a user Graph has not described yet, known only through memberships. */
export function unknownUser(id: string): MirrorUser {
  return { id, facts: null, managerId: null, deleted: null, version: '', memberships: {} };
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
