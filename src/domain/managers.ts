/**
 * Managers: a person's manager is the person of its Entra manager, only when that manager is in the
 * directory (in scope, with a person). Each problem is named, never a crash:
 * - `manager-missing`: Entra names a manager the input does not hold, or one without a person;
 * - `manager-out-of-scope`: the manager is known but not in the directory;
 * - `manager-cycle`: the person is on a cycle of manager links (A→A, A→B→A, …); its link is dropped, so
 *   the persons below a cycle keep their link to their manager and no cycle is left.
 * Iterative and linear in the number of users (chains of any length).
 */

export type ManagerProblem = 'manager-missing' | 'manager-out-of-scope' | 'manager-cycle';

export interface ManagerFacts {
  readonly userId: string;
  /** The linked person, null if none. */
  readonly personId: string | null;
  readonly inDirectory: boolean;
  /** Entra's manager. */
  readonly managerUserId: string | null;
}

export interface ManagerLink {
  readonly managerPersonId: string | null;
  readonly problem: ManagerProblem | null;
}

const NONE: ManagerLink = Object.freeze({ managerPersonId: null, problem: null });
const MISSING: ManagerLink = Object.freeze({ managerPersonId: null, problem: 'manager-missing' });
const OUT_OF_SCOPE: ManagerLink = Object.freeze({ managerPersonId: null, problem: 'manager-out-of-scope' });
const CYCLE: ManagerLink = Object.freeze({ managerPersonId: null, problem: 'manager-cycle' });

/**
 * One link per user of the input (a userId given twice: the last one counts). A user not in the directory
 * or without a person, or without a manager in Entra: no link, no problem. Users are numbered once and the
 * walk runs over typed arrays: the whole directory (100,000 users) is resolved at every run's end.
 */
export function resolveManagers(users: Iterable<ManagerFacts>): Map<string, ManagerLink> {
  const indexOf = new Map<string, number>();
  const facts: ManagerFacts[] = [];
  for (const user of users) {
    const at = indexOf.get(user.userId);
    if (at === undefined) {
      indexOf.set(user.userId, facts.length);
      facts.push(user);
    } else facts[at] = user;
  }
  const n = facts.length;
  const links = new Array<ManagerLink>(n);
  /** Candidate links between two in-directory users: each user has at most one (a functional graph). */
  const next = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const user = facts[i]!;
    if (!user.inDirectory || user.personId === null || user.managerUserId === null) {
      links[i] = NONE;
      continue;
    }
    const m = indexOf.get(user.managerUserId);
    const manager = m === undefined ? undefined : facts[m]!;
    if (manager === undefined || manager.personId === null) links[i] = MISSING;
    else if (!manager.inDirectory) links[i] = OUT_OF_SCOPE;
    else {
      next[i] = m!;
      links[i] = { managerPersonId: manager.personId, problem: null };
    }
  }

  // Cycles of a functional graph: walk from each unvisited user along its links, stamping the users of
  // this walk; meeting a user stamped by this very walk closes a cycle (from that user round to it).
  const DONE = -1;
  const stamp = new Int32Array(n); // 0: not visited; w > 0: on walk w; DONE
  let walk = 0;
  for (let start = 0; start < n; start++) {
    if (next[start] === -1 || stamp[start] !== 0) continue;
    walk += 1;
    let at = start;
    while (at !== -1 && stamp[at] === 0) {
      stamp[at] = walk;
      at = next[at]!;
    }
    if (at !== -1 && stamp[at] === walk) {
      const first = at;
      do {
        links[at] = CYCLE;
        at = next[at]!;
      } while (at !== first);
    }
    for (at = start; at !== -1 && stamp[at] === walk; at = next[at]!) stamp[at] = DONE;
  }
  const result = new Map<string, ManagerLink>();
  for (let i = 0; i < n; i++) result.set(facts[i]!.userId, links[i]!);
  return result;
}
