/**
 * The test oracle: the directory the pipeline should produce, computed by a deliberately simple
 * function of the stand-in's tenant snapshots (one per completed round), sharing no code with the
 * pipeline. Statuses assume the app never changed a status itself (so 'created', or 'removed' after
 * leaving scope); a person keeps following its user's profile after leaving scope.
 */
import type { SnapshotUser, TenantSnapshot } from '../../local/standin/index.js';

export interface ExpectedPerson {
  status: 'created' | 'removed';
  displayName: string;
  givenName: string | null;
  surname: string | null;
  email: string;
  jobTitle: string | null;
  department: string | null;
  officeLocation: string | null;
  employeeId: string | null;
  hireDate: string | null;
  /** The manager's Entra object id, as Entra says (the reader maps the app's link back to it). */
  managerObjectId: string | null;
}

export interface ExpectedDirectory {
  people: Map<string, ExpectedPerson>;
  /** Team (by Entra group id) → name and status. */
  teams: Map<string, { name: string; status: 'active' | 'archived' }>;
  /** `groupId|userObjectId` for every team membership. */
  teamMembers: Set<string>;
}

function str(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const t = value.trim();
  return t === '' ? null : t;
}

function inScope(user: SnapshotUser): boolean {
  const upn = str(user.userPrincipalName) ?? '';
  return (
    user.accountEnabled === true &&
    user.userType === 'Member' &&
    !user.softDeleted &&
    !upn.toUpperCase().includes('#EXT#')
  );
}

function valid(user: SnapshotUser): boolean {
  const email = (str(user.mail) ?? str(user.userPrincipalName) ?? '').toLowerCase();
  if (email === '' || email.length > 254) return false;
  const texts = [
    user.displayName,
    user.givenName,
    user.surname,
    user.jobTitle,
    user.department,
    user.officeLocation,
    user.employeeId,
  ];
  return texts.every((t) => (str(t) ?? '').length <= 256);
}

function profile(user: SnapshotUser): Omit<ExpectedPerson, 'status'> {
  const email = (str(user.mail) ?? str(user.userPrincipalName))!.toLowerCase();
  const hire = str(user.employeeHireDate);
  return {
    displayName: str(user.displayName) ?? email,
    givenName: str(user.givenName),
    surname: str(user.surname),
    email,
    jobTitle: str(user.jobTitle),
    department: str(user.department),
    officeLocation: str(user.officeLocation),
    employeeId: str(user.employeeId),
    hireDate: hire ? new Date(hire).toISOString().slice(0, 10) : null,
    managerObjectId: user.managerId ?? null,
  };
}

/** `rounds`: the tenant as it was when each completed round read it, oldest first. */
export function expectedDirectory(rounds: readonly TenantSnapshot[]): ExpectedDirectory {
  const people = new Map<string, ExpectedPerson>();
  for (const snapshot of rounds) {
    const seen = new Set<string>();
    for (const user of snapshot.users) {
      seen.add(user.id);
      const known = people.get(user.id);
      if (inScope(user)) {
        if (!valid(user)) continue; // refused as invalid data: nothing applied for this user
        people.set(user.id, { status: 'created', ...profile(user) });
      } else if (known) {
        // A leaver's profile follows Entra while Entra still describes it (a soft-deleted user is
        // only `@removed` in delta: it keeps its last profile; one that cannot be mapped keeps its own).
        if (!user.softDeleted && valid(user)) Object.assign(known, profile(user));
        known.status = 'removed';
      }
    }
    for (const [id, person] of people) if (!seen.has(id)) person.status = 'removed'; // hard-deleted
  }

  // A manager is linked only while both the person and the manager's person are in the directory.
  for (const person of people.values()) {
    const manager = person.managerObjectId;
    if (person.status !== 'created' || !manager || people.get(manager)?.status !== 'created') {
      person.managerObjectId = null;
    }
  }
  // …and never on a cycle of managers (A → B → A): those are left unlinked.
  const managerOf = new Map([...people].map(([id, p]) => [id, p.managerObjectId]));
  for (const [id, person] of people) {
    const chain = new Set<string>([id]);
    for (let at = managerOf.get(id); at; at = managerOf.get(at)) {
      if (at === id) {
        person.managerObjectId = null;
        break;
      }
      if (chain.has(at)) break;
      chain.add(at);
    }
  }

  const last = rounds[rounds.length - 1]!;
  const teams = new Map<string, { name: string; status: 'active' | 'archived' }>();
  for (const snapshot of rounds) {
    const present = new Set(snapshot.groups.map((g) => g.id));
    for (const [id, team] of teams) if (!present.has(id)) team.status = 'archived';
    for (const group of snapshot.groups) {
      teams.set(group.id, {
        name: str(group.displayName) ?? str(group.mailNickname) ?? group.id,
        status: 'active',
      });
    }
  }
  const activeUsers = new Set(
    last.users.filter((u) => inScope(u) && people.get(u.id)?.status === 'created').map((u) => u.id),
  );
  const teamMembers = new Set<string>();
  for (const group of last.groups) {
    for (const memberId of group.memberIds)
      if (activeUsers.has(memberId)) teamMembers.add(`${group.id}|${memberId}`);
  }
  return { people, teams, teamMembers };
}
