/**
 * K random tenant changes for the incremental round, drawn from a seeded generator over the tenant's
 * snapshot: hires, disables, renames, mail changes, manager moves, membership adds and removes. Each
 * change touches a different in-scope user (member, enabled), so the round's counts can be read
 * against the plan.
 */
import type { TenantOperation, TenantSnapshot } from '../local/standin/index.js';

export const CHANGE_KINDS = [
  'hire',
  'disable',
  'rename',
  'changeMail',
  'setManager',
  'addMember',
  'removeMember',
] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

export interface ChangePlan {
  readonly operations: TenantOperation[];
  readonly mix: Record<ChangeKind, number>;
}

export function planChanges(snapshot: TenantSnapshot, count: number, seed: number): ChangePlan {
  const random = mulberry32(seed ^ 0x9e3779b9);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const inScope = snapshot.users.filter(
    (u) => !u.softDeleted && u.userType === 'Member' && u.accountEnabled === true,
  );
  const userIds = new Set(snapshot.users.map((u) => u.id));
  const managerOf = new Map(snapshot.users.map((u) => [u.id, u.managerId]));
  const members = new Map(snapshot.groups.map((g) => [g.id, new Set(g.memberIds)]));
  const used = new Set<string>();
  const freshUser = (accept: (id: string) => boolean = () => true): string | undefined => {
    for (let attempt = 0; attempt < 200; attempt += 1) {
      const candidate = pick(inScope).id;
      if (!used.has(candidate) && accept(candidate)) {
        used.add(candidate);
        return candidate;
      }
    }
    return undefined;
  };
  /** True when `managerId` is not `id` and does not report (transitively) to `id`. */
  const noCycle = (id: string, managerId: string): boolean => {
    let at: string | null | undefined = managerId;
    for (let depth = 0; at && depth < 64; depth += 1) {
      if (at === id) return false;
      at = managerOf.get(at);
    }
    return true;
  };

  const operations: TenantOperation[] = [];
  const mix = Object.fromEntries(CHANGE_KINDS.map((k) => [k, 0])) as Record<ChangeKind, number>;
  for (let n = 0; operations.length < count && n < count * 20; n += 1) {
    const kind = pick(CHANGE_KINDS);
    const operation = planOne(kind, operations.length);
    if (!operation) continue;
    operations.push(operation);
    mix[kind] += 1;
  }
  if (operations.length < count)
    throw new Error(`only ${operations.length} of ${count} changes could be planned on this tenant`);
  return { operations, mix };

  function planOne(kind: ChangeKind, index: number): TenantOperation | undefined {
    switch (kind) {
      case 'hire':
        return {
          op: 'hire',
          user: { givenName: 'Bench', surname: `Hire${index}`, jobTitle: 'Engineer', department: 'IT' },
          managerId: pick(inScope).id,
        };
      case 'disable': {
        const id = freshUser();
        return id ? { op: 'disable', id } : undefined;
      }
      case 'rename': {
        const id = freshUser();
        return id ? { op: 'rename', id, givenName: 'Renamed', surname: `Bench${index}` } : undefined;
      }
      case 'changeMail': {
        const id = freshUser();
        return id
          ? { op: 'changeMail', id, mail: `bench.mail${index}.${id.slice(0, 8)}@contoso.com` }
          : undefined;
      }
      case 'setManager': {
        const managerId = pick(inScope).id;
        const id = freshUser(
          (candidate) => noCycle(candidate, managerId) && managerOf.get(candidate) !== managerId,
        );
        if (!id) return undefined;
        managerOf.set(id, managerId);
        return { op: 'setManager', id, managerId };
      }
      case 'addMember': {
        if (snapshot.groups.length === 0) return undefined;
        const groupId = pick(snapshot.groups).id;
        const current = members.get(groupId)!;
        const id = freshUser((candidate) => !current.has(candidate));
        if (!id) return undefined;
        current.add(id);
        return { op: 'addMember', groupId, memberId: id };
      }
      case 'removeMember': {
        if (snapshot.groups.length === 0) return undefined;
        const groupId = pick(snapshot.groups).id;
        const current = members.get(groupId)!;
        const candidates = [...current].filter((m) => userIds.has(m) && !used.has(m));
        if (candidates.length === 0) return undefined;
        const id = pick(candidates);
        used.add(id);
        current.delete(id);
        return { op: 'removeMember', groupId, memberId: id };
      }
    }
  }
}

/** A small seeded PRNG (mulberry32): the same seed plans the same changes. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
