/** Shapes of the stand-in's directory: users and groups as Graph describes them, plus bookkeeping for delta. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export type ObjectState = 'active' | 'softDeleted' | 'hardDeleted';

export interface UserPhoto {
  readonly etag: string;
  /** Explicit bytes; generated users get bytes synthesised from their id on demand. */
  readonly bytes?: Buffer;
}

export interface UserEntry {
  readonly id: string;
  /** Graph properties other than `id` (and the `manager` relationship), by their Graph names. */
  props: JsonObject;
  managerId: string | null;
  /** The manager before the last manager change, for `manager@delta` removals. */
  previousManagerId: string | null;
  photo: UserPhoto | null;
  state: ObjectState;
  /** Groups the user belonged to when soft-deleted, re-added on restore. */
  groupsBeforeDelete: string[];
  createdSeq: number;
  /** Sequence of the last delete/restore. */
  stateSeq: number;
  /** Per-property sequence of the last change (`manager` included); absent = unchanged since creation. */
  propSeq: Map<string, number> | null;
}

export interface MemberChange {
  readonly seq: number;
  readonly memberId: string;
  readonly added: boolean;
}

export interface GroupEntry {
  readonly id: string;
  props: JsonObject;
  /** Direct members (user and group ids), in insertion order. */
  members: Set<string>;
  memberLog: MemberChange[];
  state: ObjectState;
  createdSeq: number;
  stateSeq: number;
  propSeq: Map<string, number> | null;
}

export type ResourceKind = 'users' | 'groups';
export type ChangeType = 'created' | 'updated' | 'deleted';

export interface TenantChange {
  readonly resource: ResourceKind;
  readonly id: string;
  readonly changeType: ChangeType;
  /** For `deleted`: false for a soft delete (restorable), true for a permanent delete. */
  readonly permanent?: boolean;
}

export type ChangeListener = (change: TenantChange) => void;

/** A property value as text (strings as they are, null as '', anything else as JSON). */
export function text(value: JsonValue | undefined): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
