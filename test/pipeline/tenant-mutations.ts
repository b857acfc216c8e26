/** Random, seeded changes to the simulated tenant: the kinds of change a real tenant sees. */
import type { TenantOperation } from '../../local/standin/control/operations.js';
import type { StandinControl } from '../../local/standin/index.js';
import { SeededRandom } from '../../local/standin/tenant/seeded-random.js';

export const MUTATION_KINDS = [
  'hire',
  'disable',
  'softDelete',
  'hardDelete',
  'restore',
  'rename',
  'changeMail',
  'moveManager',
  'addMember',
  'removeMember',
  'nestGroup',
  'moveDepartment',
] as const;

/** Applies `count` mutations (every kind at least once when count ≥ kinds); returns what was done. */
export function mutateTenant(control: StandinControl, seed: number, count: number): string[] {
  const rng = new SeededRandom(seed);
  const done: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const kind = i < MUTATION_KINDS.length ? MUTATION_KINDS[i]! : rng.pick(MUTATION_KINDS);
    const line = mutateOnce(control, rng, kind, i);
    if (line) done.push(line);
  }
  return done;
}

function mutateOnce(
  control: StandinControl,
  rng: SeededRandom,
  kind: (typeof MUTATION_KINDS)[number],
  i: number,
): string | undefined {
  const snapshot = control.snapshot();
  const live = snapshot.users.filter((u) => !u.softDeleted && u.userType === 'Member');
  const softDeleted = snapshot.users.filter((u) => u.softDeleted);
  const groups = snapshot.groups;
  const someone = (): string => rng.pick(live).id;
  switch (kind) {
    case 'hire': {
      const user = control.hire(
        { displayName: `New Hire ${i}`, givenName: 'New', surname: `Hire ${i}`, department: 'Sales' },
        { managerId: someone() },
      );
      return `hire ${user.id}`;
    }
    case 'disable': {
      const id = someone();
      control.disable(id);
      return `disable ${id}`;
    }
    case 'softDelete': {
      const id = someone();
      control.softDelete(id);
      return `softDelete ${id}`;
    }
    case 'hardDelete': {
      const id = someone();
      control.hardDelete(id);
      return `hardDelete ${id}`;
    }
    case 'restore': {
      if (softDeleted.length === 0) {
        const id = someone();
        control.softDelete(id);
        control.restore(id);
        return `softDelete+restore ${id}`;
      }
      const id = rng.pick(softDeleted).id;
      control.restore(id);
      return `restore ${id}`;
    }
    case 'rename': {
      const id = someone();
      control.rename(id, { displayName: `Renamed ${i}`, surname: `Renamed${i}` });
      return `rename ${id}`;
    }
    case 'changeMail': {
      const id = someone();
      control.changeMail(id, `changed.${i}.${id.slice(0, 8)}@contoso.com`);
      return `changeMail ${id}`;
    }
    case 'moveManager': {
      const id = someone();
      const manager = someone();
      if (manager === id) return undefined;
      control.setManager(id, manager);
      return `setManager ${id} → ${manager}`;
    }
    case 'addMember': {
      const group = rng.pick(groups);
      const id = someone();
      if (group.memberIds.includes(id)) return undefined;
      control.addMember(group.id, id);
      return `addMember ${group.id} ${id}`;
    }
    case 'removeMember': {
      const group = rng.pick(groups.filter((g) => g.memberIds.length > 0));
      const id = rng.pick(group.memberIds);
      control.removeMember(group.id, id);
      return `removeMember ${group.id} ${id}`;
    }
    case 'nestGroup': {
      const parent = rng.pick(groups);
      const child = rng.pick(groups);
      if (parent.id === child.id || parent.memberIds.includes(child.id)) return undefined;
      control.nestGroup(parent.id, child.id);
      return `nestGroup ${parent.id} ${child.id}`;
    }
    case 'moveDepartment': {
      const id = someone();
      control.moveDepartment(id, 'Research');
      return `moveDepartment ${id}`;
    }
  }
}

/**
 * One round of membership churn: `userId` leaves the groups it joined last round (`previous`) and
 * joins `count` new groups; returns the new groups' ids.
 */
export function churnMemberships(
  control: StandinControl,
  userId: string,
  previous: readonly string[],
  count: number,
  label: string,
): string[] {
  const ops: TenantOperation[] = previous.map((groupId) => ({
    op: 'removeMember',
    groupId,
    memberId: userId,
  }));
  for (let i = 0; i < count; i += 1) {
    ops.push({ op: 'createGroup', group: { displayName: `Churn ${label}.${i}` }, memberIds: [userId] });
  }
  return control.bulk(ops).slice(previous.length);
}
