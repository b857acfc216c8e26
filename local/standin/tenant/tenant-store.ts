/**
 * The live directory of the stand-in: users, groups, memberships and managers, with a change log that feeds
 * delta queries (each mutation appends `(resource, id)` at the next sequence) and change listeners that feed
 * the subscriptions plug-in.
 */
import {
  type ChangeListener,
  type GroupEntry,
  type JsonObject,
  type ResourceKind,
  type TenantChange,
  text,
  type UserEntry,
  type UserPhoto,
} from './types.js';

const SOFT_DELETE_RETENTION_MS = 30 * 24 * 3600 * 1000;

export class TenantError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'TenantError';
  }
}

export interface NewUser {
  readonly id?: string;
  readonly props: JsonObject;
  readonly managerId?: string | null;
  readonly photo?: UserPhoto | null;
}

export interface NewGroup {
  readonly id?: string;
  readonly props: JsonObject;
  readonly members?: readonly string[];
}

export class TenantStore {
  readonly usersById = new Map<string, UserEntry>();
  readonly groupsById = new Map<string, GroupEntry>();
  /** Append-only creation order; delta rounds page over it by index. */
  readonly userOrder: UserEntry[] = [];
  readonly groupOrder: GroupEntry[] = [];
  private readonly usersByUpn = new Map<string, UserEntry>();
  private readonly logResource: ResourceKind[] = [];
  private readonly logIds: string[] = [];
  private readonly listeners = new Set<ChangeListener>();

  constructor(
    readonly tenantId: string,
    private readonly now: () => Date,
  ) {}

  /** Sequence of the last change (0 before any change). */
  get seq(): number {
    return this.logIds.length;
  }

  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Distinct ids of `resource` changed with a sequence in (fromSeq, toSeq], in first-change order. */
  changedIdsBetween(resource: ResourceKind, fromSeq: number, toSeq: number): string[] {
    const seen = new Set<string>();
    for (let i = Math.max(0, fromSeq); i < Math.min(toSeq, this.logIds.length); i++) {
      if (this.logResource[i] === resource) seen.add(this.logIds[i]!);
    }
    return [...seen];
  }

  // ---- lookups -------------------------------------------------------------------------------------

  /** An active user by id or userPrincipalName (case-insensitive). */
  findUser(idOrUpn: string): UserEntry | undefined {
    const byId = this.usersById.get(idOrUpn);
    const user = byId ?? this.usersByUpn.get(idOrUpn.toLowerCase());
    return user?.state === 'active' ? user : undefined;
  }

  findGroup(id: string): GroupEntry | undefined {
    const group = this.groupsById.get(id);
    return group?.state === 'active' ? group : undefined;
  }

  requireUser(idOrUpn: string): UserEntry {
    const user = this.findUser(idOrUpn);
    if (!user) throw notFound(idOrUpn);
    return user;
  }

  requireGroup(id: string): GroupEntry {
    const group = this.findGroup(id);
    if (!group) throw notFound(id);
    return group;
  }

  /** Anything a user or group id may refer to, including soft-deleted users. */
  private anyUser(id: string): UserEntry {
    const user = this.usersById.get(id);
    if (!user || user.state === 'hardDeleted') throw notFound(id);
    return user;
  }

  // ---- loading (generator): no change log, sequence 0 ------------------------------------------------

  loadUser(entry: UserEntry): void {
    this.usersById.set(entry.id, entry);
    this.usersByUpn.set(text(entry.props.userPrincipalName).toLowerCase(), entry);
    this.userOrder.push(entry);
  }

  loadGroup(entry: GroupEntry): void {
    this.groupsById.set(entry.id, entry);
    this.groupOrder.push(entry);
  }

  // ---- user mutations ------------------------------------------------------------------------------

  addUser(input: NewUser): UserEntry {
    const id = input.id ?? crypto.randomUUID();
    const upn = input.props.userPrincipalName;
    if (typeof upn !== 'string' || upn.length === 0) {
      throw new TenantError(400, 'Request_BadRequest', 'userPrincipalName is required.');
    }
    if (this.usersById.has(id) || this.usersByUpn.has(upn.toLowerCase())) {
      throw new TenantError(
        400,
        'Request_BadRequest',
        'Another object with the same value for property userPrincipalName already exists.',
      );
    }
    if (input.managerId) this.requireUser(input.managerId);
    const seq = this.nextSeq('users', id);
    const entry: UserEntry = {
      id,
      props: { createdDateTime: isoSeconds(this.now()), deletedDateTime: null, ...input.props },
      managerId: input.managerId ?? null,
      previousManagerId: null,
      photo: input.photo ?? null,
      state: 'active',
      groupsBeforeDelete: [],
      createdSeq: seq,
      stateSeq: seq,
      propSeq: null,
    };
    this.loadUser(entry);
    this.emit({ resource: 'users', id, changeType: 'created' });
    return entry;
  }

  /** Sets any properties to any values (the product's tests break data on purpose through this). */
  updateUser(id: string, changes: JsonObject): UserEntry {
    const user = this.requireUser(id);
    if ('id' in changes)
      throw new TenantError(400, 'Request_BadRequest', 'The id of an object cannot change.');
    const newUpn = changes.userPrincipalName;
    const oldUpn = text(user.props.userPrincipalName).toLowerCase();
    if (typeof newUpn === 'string' && newUpn.toLowerCase() !== oldUpn) {
      if (this.usersByUpn.has(newUpn.toLowerCase())) {
        throw new TenantError(
          400,
          'Request_BadRequest',
          'Another object with the same value for property userPrincipalName already exists.',
        );
      }
    }
    const seq = this.nextSeq('users', id);
    user.propSeq ??= new Map();
    for (const [key, value] of Object.entries(changes)) {
      user.props[key] = value;
      user.propSeq.set(key, seq);
    }
    if (typeof newUpn === 'string') {
      this.usersByUpn.delete(oldUpn);
      this.usersByUpn.set(newUpn.toLowerCase(), user);
    }
    this.emit({ resource: 'users', id, changeType: 'updated' });
    return user;
  }

  setManager(id: string, managerId: string | null): UserEntry {
    const user = this.requireUser(id);
    if (managerId !== null) {
      this.requireUser(managerId);
      if (managerId === id) throw new TenantError(400, 'Request_BadRequest', 'A user cannot manage itself.');
    }
    if (user.managerId === managerId) return user;
    const seq = this.nextSeq('users', id);
    user.previousManagerId = user.managerId;
    user.managerId = managerId;
    (user.propSeq ??= new Map()).set('manager', seq);
    this.emit({ resource: 'users', id, changeType: 'updated' });
    return user;
  }

  setPhoto(id: string, photo: UserPhoto | null): UserEntry {
    const user = this.requireUser(id);
    user.photo = photo;
    return user;
  }

  /** Entra's soft delete: the user disappears (delta `@removed: changed`) and can be restored for 30 days. */
  softDelete(id: string): void {
    const user = this.requireUser(id);
    user.groupsBeforeDelete = this.removeFromAllGroups(id);
    const seq = this.nextSeq('users', id);
    user.state = 'softDeleted';
    user.stateSeq = seq;
    user.props.deletedDateTime = isoSeconds(this.now());
    this.emit({ resource: 'users', id, changeType: 'deleted', permanent: false });
  }

  restore(id: string): UserEntry {
    const user = this.usersById.get(id);
    if (!user || user.state !== 'softDeleted') throw notFound(id);
    const deletedAt = Date.parse(text(user.props.deletedDateTime));
    if (this.now().getTime() - deletedAt > SOFT_DELETE_RETENTION_MS) {
      this.hardDelete(id);
      throw notFound(id);
    }
    const seq = this.nextSeq('users', id);
    user.state = 'active';
    user.stateSeq = seq;
    user.props.deletedDateTime = null;
    for (const groupId of user.groupsBeforeDelete) {
      const group = this.findGroup(groupId);
      if (group) this.addMemberAt(group, id);
    }
    user.groupsBeforeDelete = [];
    this.emit({ resource: 'users', id, changeType: 'updated' });
    return user;
  }

  /** Permanent delete (delta `@removed: deleted`); the user's reports lose their manager. */
  hardDelete(id: string): void {
    const user = this.anyUser(id);
    if (user.state === 'active') this.removeFromAllGroups(id);
    for (const report of this.userOrder) {
      if (report.managerId === id && report.state === 'active') this.setManager(report.id, null);
    }
    const seq = this.nextSeq('users', id);
    user.state = 'hardDeleted';
    user.stateSeq = seq;
    this.usersByUpn.delete(text(user.props.userPrincipalName).toLowerCase());
    this.emit({ resource: 'users', id, changeType: 'deleted', permanent: true });
  }

  /** Soft-deleted users older than 30 days become hard deletes (Entra's recycle bin). */
  purgeExpiredSoftDeletes(): number {
    let purged = 0;
    for (const user of this.userOrder) {
      if (user.state !== 'softDeleted') continue;
      if (this.now().getTime() - Date.parse(text(user.props.deletedDateTime)) > SOFT_DELETE_RETENTION_MS) {
        this.hardDelete(user.id);
        purged++;
      }
    }
    return purged;
  }

  // ---- group mutations -----------------------------------------------------------------------------

  createGroup(input: NewGroup): GroupEntry {
    const id = input.id ?? crypto.randomUUID();
    if (this.groupsById.has(id) || this.usersById.has(id)) {
      throw new TenantError(400, 'Request_BadRequest', `An object with id '${id}' already exists.`);
    }
    const seq = this.nextSeq('groups', id);
    const entry: GroupEntry = {
      id,
      props: {
        createdDateTime: isoSeconds(this.now()),
        description: null,
        groupTypes: [],
        mail: null,
        mailEnabled: false,
        securityEnabled: true,
        ...input.props,
      },
      members: new Set(),
      memberLog: [],
      state: 'active',
      createdSeq: seq,
      stateSeq: seq,
      propSeq: null,
    };
    this.loadGroup(entry);
    for (const memberId of input.members ?? []) this.addMember(id, memberId);
    this.emit({ resource: 'groups', id, changeType: 'created' });
    return entry;
  }

  updateGroup(id: string, changes: JsonObject): GroupEntry {
    const group = this.requireGroup(id);
    const seq = this.nextSeq('groups', id);
    group.propSeq ??= new Map();
    for (const [key, value] of Object.entries(changes)) {
      group.props[key] = value;
      group.propSeq.set(key, seq);
    }
    this.emit({ resource: 'groups', id, changeType: 'updated' });
    return group;
  }

  deleteGroup(id: string): void {
    const group = this.requireGroup(id);
    this.removeFromAllGroups(id);
    const seq = this.nextSeq('groups', id);
    group.state = 'hardDeleted';
    group.stateSeq = seq;
    this.emit({ resource: 'groups', id, changeType: 'deleted', permanent: true });
  }

  addMember(groupId: string, memberId: string): void {
    const group = this.requireGroup(groupId);
    if (!this.findUser(memberId) && !this.findGroup(memberId)) throw notFound(memberId);
    if (memberId === groupId)
      throw new TenantError(400, 'Request_BadRequest', 'A group cannot contain itself.');
    if (group.members.has(memberId)) {
      throw new TenantError(
        400,
        'Request_BadRequest',
        "One or more added object references already exist for the following modified properties: 'members'.",
      );
    }
    this.addMemberAt(group, memberId);
  }

  removeMember(groupId: string, memberId: string): void {
    const group = this.requireGroup(groupId);
    if (!group.members.has(memberId)) throw notFound(memberId);
    this.removeMemberAt(group, memberId);
  }

  /** Members of a group and of its nested groups (each object once; cycles tolerated). */
  transitiveMemberIds(groupId: string): string[] {
    const result = new Set<string>();
    const pending = [groupId];
    const visited = new Set<string>();
    while (pending.length > 0) {
      const current = this.findGroup(pending.pop()!);
      if (!current || visited.has(current.id)) continue;
      visited.add(current.id);
      for (const memberId of current.members) {
        if (memberId === groupId) continue;
        result.add(memberId);
        if (this.groupsById.has(memberId)) pending.push(memberId);
      }
    }
    return [...result];
  }

  // ---- internals -----------------------------------------------------------------------------------

  private addMemberAt(group: GroupEntry, memberId: string): void {
    const seq = this.nextSeq('groups', group.id);
    group.members.add(memberId);
    group.memberLog.push({ seq, memberId, added: true });
    this.emit({ resource: 'groups', id: group.id, changeType: 'updated' });
  }

  private removeMemberAt(group: GroupEntry, memberId: string): void {
    const seq = this.nextSeq('groups', group.id);
    group.members.delete(memberId);
    group.memberLog.push({ seq, memberId, added: false });
    this.emit({ resource: 'groups', id: group.id, changeType: 'updated' });
  }

  private removeFromAllGroups(memberId: string): string[] {
    const removedFrom: string[] = [];
    for (const group of this.groupOrder) {
      if (group.state === 'active' && group.members.has(memberId)) {
        this.removeMemberAt(group, memberId);
        removedFrom.push(group.id);
      }
    }
    return removedFrom;
  }

  private nextSeq(resource: ResourceKind, id: string): number {
    this.logResource.push(resource);
    this.logIds.push(id);
    return this.logIds.length;
  }

  private emit(change: TenantChange): void {
    for (const listener of this.listeners) listener(change);
  }
}

export function notFound(id: string): TenantError {
  return new TenantError(
    404,
    'Request_ResourceNotFound',
    `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
  );
}

export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
