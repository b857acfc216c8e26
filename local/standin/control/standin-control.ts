/** `StandinControl`: what tests, the demo and the bench use to drive the stand-in (also served over HTTP). */
import type { AppRegistration, ConsentAnswer } from '../auth/app-registration.js';
import type { FaultInjector, FaultPlan, FaultPlanInput } from '../faults/fault-plan.js';
import type { CountersView, RequestCounters } from '../http/counters.js';
import type { TenantStore } from '../tenant/tenant-store.js';
import { type JsonObject, type JsonValue, text } from '../tenant/types.js';
import { applyOperation, type TenantOperation } from './operations.js';

export interface SnapshotUser {
  readonly id: string;
  readonly userPrincipalName: string;
  /** Every Graph property of the user, by Graph name (incl. extension_* and customSecurityAttributes). */
  readonly [property: string]: JsonValue;
  readonly managerId: string | null;
  readonly softDeleted: boolean;
  readonly photoEtag: string | null;
}

export interface SnapshotGroup {
  readonly id: string;
  readonly [property: string]: JsonValue;
  /** Direct members: user ids and nested group ids. */
  readonly memberIds: string[];
}

export interface TenantSnapshot {
  readonly tenantId: string;
  /** The change-log sequence the snapshot reflects. */
  readonly sequence: number;
  /** Users that exist (active and soft-deleted); hard-deleted users are gone. */
  readonly users: SnapshotUser[];
  /** Groups that exist. */
  readonly groups: SnapshotGroup[];
}

export interface StandinControl {
  hire(user?: JsonObject, options?: { managerId?: string | null; withPhoto?: boolean }): SnapshotUser;
  disable(id: string): void;
  enable(id: string): void;
  softDelete(id: string): void;
  restore(id: string): void;
  hardDelete(id: string): void;
  rename(
    id: string,
    names: { displayName?: string; givenName?: string | null; surname?: string | null },
  ): void;
  changeMail(id: string, mail: string | null): void;
  moveDepartment(id: string, department: string | null): void;
  setManager(id: string, managerId: string | null): void;
  /** Sets any properties to any values (for tests that break data on purpose). */
  updateUser(id: string, changes: JsonObject): void;
  /** Replaces a user's photo (bytes) or removes it (null). */
  setPhoto(id: string, bytes: Buffer | null): void;
  /** Sets some on-premises extension attributes (`extensionAttribute1`…`15`); the others stay. */
  setExtensionAttributes(id: string, attributes: Record<string, string | null>): void;
  /** Replaces a user's custom security attributes (by attribute set; null = none). */
  setSecurityAttributes(id: string, attributes: Record<string, JsonObject> | null): void;
  addMember(groupId: string, memberId: string): void;
  removeMember(groupId: string, memberId: string): void;
  nestGroup(parentId: string, childId: string): void;
  createGroup(group?: JsonObject, memberIds?: readonly string[]): SnapshotGroup;
  updateGroup(id: string, changes: JsonObject): void;
  deleteGroup(id: string): void;
  /** Applies operations in order; stops at the first failure (which is thrown). Returns the ids touched. */
  bulk(operations: readonly TenantOperation[]): string[];
  setFaults(plan: FaultPlanInput): FaultPlan;
  clearFaults(): void;
  faults(): FaultPlan;
  counters(): CountersView;
  resetCounters(): void;
  snapshot(): TenantSnapshot;
  user(id: string): SnapshotUser | undefined;
  group(id: string): SnapshotGroup | undefined;
  /** Changes the app's granted application permissions (tokens issued afterwards carry them). */
  setGrantedPermissions(permissions: readonly string[]): void;
  /** How the next admin consents answer: accept (all requested, or only `grant`), decline, consent required. */
  setConsentAnswer(answer: ConsentAnswer): void;
  /** Moves the stand-in's clock forward (token expiry, soft-delete retention, delta token age). */
  advanceClock(ms: number): void;
  /** Delta page sizes (users per page; group objects + member references per page). */
  setDeltaPageSize(users: number, groupBudget?: number): void;
}

export interface ControlDeps {
  readonly store: TenantStore;
  readonly domain: string;
  readonly faults: FaultInjector;
  readonly counters: RequestCounters;
  readonly app: AppRegistration;
  readonly advanceClock: (ms: number) => void;
  readonly setDeltaPageSize: (users: number, groupBudget?: number) => void;
}

export function createStandinControl(deps: ControlDeps): StandinControl {
  const { store } = deps;
  const apply = (operation: TenantOperation): string =>
    applyOperation({ store, domain: deps.domain }, operation).id;
  const userView = (id: string): SnapshotUser | undefined => {
    const user = store.usersById.get(id);
    if (!user || user.state === 'hardDeleted') return undefined;
    return {
      ...user.props,
      id: user.id,
      userPrincipalName: text(user.props.userPrincipalName),
      managerId: user.managerId,
      softDeleted: user.state === 'softDeleted',
      photoEtag: user.photo?.etag ?? null,
    };
  };
  const groupView = (id: string): SnapshotGroup | undefined => {
    const group = store.groupsById.get(id);
    if (!group || group.state !== 'active') return undefined;
    return { ...group.props, id: group.id, memberIds: [...group.members] };
  };
  return {
    hire: (user = {}, options = {}) =>
      userView(
        apply({
          op: 'hire',
          user,
          managerId: options.managerId ?? null,
          withPhoto: options.withPhoto ?? false,
        }),
      )!,
    disable: (id) => void apply({ op: 'disable', id }),
    enable: (id) => void apply({ op: 'enable', id }),
    softDelete: (id) => void apply({ op: 'softDelete', id }),
    restore: (id) => void apply({ op: 'restore', id }),
    hardDelete: (id) => void apply({ op: 'hardDelete', id }),
    rename: (id, names) => void apply({ op: 'rename', id, ...names }),
    changeMail: (id, mail) => void apply({ op: 'changeMail', id, mail }),
    moveDepartment: (id, department) => void apply({ op: 'moveDepartment', id, department }),
    setManager: (id, managerId) => void apply({ op: 'setManager', id, managerId }),
    updateUser: (id, changes) => void apply({ op: 'updateUser', id, changes }),
    setPhoto: (id, bytes) =>
      void apply({ op: 'setPhoto', id, base64: bytes === null ? null : bytes.toString('base64') }),
    setExtensionAttributes: (id, attributes) => void apply({ op: 'setExtensionAttributes', id, attributes }),
    setSecurityAttributes: (id, attributes) => void apply({ op: 'setSecurityAttributes', id, attributes }),
    addMember: (groupId, memberId) => void apply({ op: 'addMember', groupId, memberId }),
    removeMember: (groupId, memberId) => void apply({ op: 'removeMember', groupId, memberId }),
    nestGroup: (parentId, childId) => void apply({ op: 'nestGroup', parentId, childId }),
    createGroup: (group = {}, memberIds = []) =>
      groupView(apply({ op: 'createGroup', group, memberIds: [...memberIds] }))!,
    updateGroup: (id, changes) => void apply({ op: 'updateGroup', id, changes }),
    deleteGroup: (id) => void apply({ op: 'deleteGroup', id }),
    bulk: (operations) => operations.map(apply),
    setFaults: (plan) => deps.faults.set(plan),
    clearFaults: () => deps.faults.clear(),
    faults: () => deps.faults.current,
    counters: () => deps.counters.view(),
    resetCounters: () => deps.counters.reset(),
    snapshot: () => ({
      tenantId: store.tenantId,
      sequence: store.seq,
      users: store.userOrder.flatMap((u) => userView(u.id) ?? []),
      groups: store.groupOrder.flatMap((g) => groupView(g.id) ?? []),
    }),
    user: userView,
    group: groupView,
    setGrantedPermissions: (permissions) => {
      deps.app.grantedPermissions = [...permissions];
    },
    setConsentAnswer: (answer) => {
      deps.app.consent = answer;
    },
    advanceClock: (ms) => deps.advanceClock(ms),
    setDeltaPageSize: (users, groupBudget) => deps.setDeltaPageSize(users, groupBudget),
  };
}
