/**
 * The test oracle: the directory the pipeline should produce, computed by a deliberately simple
 * function of the stand-in's tenant snapshots (one per completed round), sharing no code with the
 * pipeline, of the admin's rules at each round (OracleRules, the default policy when absent) and of
 * the app's edits. A person keeps following its user's profile after leaving scope.
 */
import type { SnapshotUser, TenantSnapshot } from '../../local/standin/index.js';

export interface ExpectedPerson {
  status: 'created' | 'invited' | 'active' | 'deactivated' | 'removed';
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
  /** Custom property values (compared only when the rules map some). */
  custom?: Record<string, unknown>;
}

/**
 * The admin's rules as the oracle understands them, written plainly (no pipeline code): the test
 * gives the `$filter` it saved as a predicate of its own.
 */
export interface OracleRules {
  /** Members of any of these groups, directly or through groups nested in them. */
  readonly scopeGroups?: readonly string[];
  readonly filter?: (user: SnapshotUser) => boolean;
  readonly emailInclude?: readonly string[];
  readonly emailExclude?: readonly string[];
  /** app-wins: a field the app edited keeps the app's value (objectId → field → value). */
  readonly appEdits?: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** The status the app gave a person (objectId → 'invited' | 'active'). */
  readonly appStatus?: ReadonlyMap<string, 'invited' | 'active'>;
  /** Custom property → its value for a user (already of the property's type). */
  readonly custom?: Readonly<Record<string, (user: SnapshotUser) => unknown>>;
  /** Every Entra group a team (default), or none. */
  readonly groupSync?: 'all' | 'none';
  /** Entra groups filling app teams (by the app team's name). */
  readonly teamMappings?: readonly { groupId: string; team: string; members: 'direct' | 'transitive' }[];
}

/** The groups at or below `roots` in a snapshot (nested groups are group ids among memberIds). */
function below(snapshot: TenantSnapshot, roots: readonly string[]): Set<string> {
  const byId = new Map(snapshot.groups.map((g) => [g.id, g]));
  const found = new Set<string>();
  const todo = [...roots];
  while (todo.length > 0) {
    const id = todo.pop()!;
    if (found.has(id) || !byId.has(id)) continue;
    found.add(id);
    for (const member of byId.get(id)!.memberIds) if (byId.has(member)) todo.push(member);
  }
  return found;
}

function memberOfAny(snapshot: TenantSnapshot, groups: ReadonlySet<string>, userId: string): boolean {
  return snapshot.groups.some((g) => groups.has(g.id) && g.memberIds.includes(userId));
}

function passesRules(snapshot: TenantSnapshot, user: SnapshotUser, rules: OracleRules): boolean {
  if (rules.scopeGroups && rules.scopeGroups.length > 0) {
    if (!memberOfAny(snapshot, below(snapshot, rules.scopeGroups), user.id)) return false;
  }
  if (rules.filter && !rules.filter(user)) return false;
  const texts = [str(user.mail) ?? '', str(user.userPrincipalName) ?? ''].map((t) => t.toLowerCase());
  const hits = (rule: string): boolean => texts.some((t) => t.includes(rule.toLowerCase()));
  if ((rules.emailExclude ?? []).some(hits)) return false;
  if ((rules.emailInclude ?? []).length > 0 && !(rules.emailInclude ?? []).some(hits)) return false;
  return true;
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

function profileUnder(user: SnapshotUser, rules: OracleRules): Omit<ExpectedPerson, 'status'> {
  const base = profile(user);
  const edits = rules.appEdits?.get(user.id) ?? {};
  const custom = rules.custom
    ? Object.fromEntries(Object.entries(rules.custom).map(([name, of]) => [name, of(user) ?? null]))
    : undefined;
  const fields = Object.fromEntries(Object.entries(edits).filter(([key]) => !key.startsWith('custom.')));
  return { ...base, ...fields, ...(custom ? { custom: { ...custom, ...customEdits(edits) } } : {}) };
}

/** App edits of custom properties are written `custom.<name>`. */
function customEdits(edits: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(edits)
      .filter(([key]) => key.startsWith('custom.'))
      .map(([key, value]) => [key.slice('custom.'.length), value]),
  );
}

/**
 * `rounds`: the tenant as it was when each completed round read it, oldest first; `rulesOf`: the
 * rules each round ran under (a settings change is a round of its own over the same snapshot).
 */
export function expectedDirectory(
  rounds: readonly TenantSnapshot[],
  rulesOf: readonly OracleRules[] = [],
): ExpectedDirectory {
  const people = new Map<string, ExpectedPerson>();
  const rulesAt = (i: number): OracleRules => rulesOf[i] ?? rulesOf[rulesOf.length - 1] ?? {};
  rounds.forEach((snapshot, round) => {
    const rules = rulesAt(round);
    const seen = new Set<string>();
    for (const user of snapshot.users) {
      seen.add(user.id);
      const known = people.get(user.id);
      const status = rules.appStatus?.get(user.id) ?? 'created';
      if (inScope(user) && passesRules(snapshot, user, rules)) {
        if (!valid(user)) continue; // refused as invalid data: nothing applied for this user
        people.set(user.id, { ...profileUnder(user, rules), status });
      } else if (known) {
        // A leaver's profile follows Entra while Entra still describes it (a soft-deleted user is
        // only `@removed` in delta: it keeps its last profile; one that cannot be mapped keeps its own).
        if (!user.softDeleted && valid(user)) Object.assign(known, profileUnder(user, rules));
        known.status = status === 'active' ? 'deactivated' : 'removed';
      }
    }
    for (const [id, person] of people) {
      if (seen.has(id)) continue;
      const status = rules.appStatus?.get(id) ?? 'created';
      person.status = status === 'active' ? 'deactivated' : 'removed'; // hard-deleted
    }
  });

  // A manager is linked only while both the person and the manager's person are in the directory.
  for (const person of people.values()) {
    const manager = person.managerObjectId;
    const inDirectory = (p: ExpectedPerson | undefined): boolean =>
      p !== undefined && p.status !== 'removed' && p.status !== 'deactivated';
    if (!inDirectory(person) || !manager || !inDirectory(people.get(manager))) {
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
  const lastRules = rulesAt(rounds.length - 1);
  const teams = new Map<string, { name: string; status: 'active' | 'archived' }>();
  rounds.forEach((snapshot, round) => {
    const synced = (rulesAt(round).groupSync ?? 'all') === 'all';
    const present = new Set(snapshot.groups.map((g) => g.id));
    for (const [id, team] of teams) if (!present.has(id) || !synced) team.status = 'archived';
    if (!synced) return;
    for (const group of snapshot.groups) {
      teams.set(group.id, {
        name: str(group.displayName) ?? str(group.mailNickname) ?? group.id,
        status: 'active',
      });
    }
  });
  for (const mapping of lastRules.teamMappings ?? []) {
    teams.set(`app:${mapping.team}`, { name: mapping.team, status: 'active' });
  }
  const inDirectory = new Set(
    last.users
      .filter((u) => {
        const status = people.get(u.id)?.status;
        return status !== undefined && status !== 'removed' && status !== 'deactivated';
      })
      .map((u) => u.id),
  );
  const teamMembers = new Set<string>();
  if ((lastRules.groupSync ?? 'all') === 'all') {
    for (const group of last.groups) {
      for (const memberId of group.memberIds)
        if (inDirectory.has(memberId)) teamMembers.add(`${group.id}|${memberId}`);
    }
  }
  for (const mapping of lastRules.teamMappings ?? []) {
    const groups =
      mapping.members === 'transitive' ? below(last, [mapping.groupId]) : new Set([mapping.groupId]);
    for (const id of inDirectory)
      if (memberOfAny(last, groups, id)) teamMembers.add(`app:${mapping.team}|${id}`);
  }
  return { people, teams, teamMembers };
}
