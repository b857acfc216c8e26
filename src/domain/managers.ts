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

/**
 * One link per user of the input (a userId given twice: the last one counts). A user not in the directory
 * or without a person, or without a manager in Entra: no link, no problem.
 */
export function resolveManagers(users: Iterable<ManagerFacts>): Map<string, ManagerLink> {
  const byId = new Map<string, ManagerFacts>();
  for (const user of users) byId.set(user.userId, user);
  const inDirectory = (u: ManagerFacts | undefined): u is ManagerFacts & { personId: string } =>
    u !== undefined && u.inDirectory && u.personId !== null;

  const result = new Map<string, ManagerLink>();
  /** Candidate links between two in-directory users: each user has at most one (a functional graph). */
  const next = new Map<string, string>();
  for (const user of byId.values()) {
    if (!inDirectory(user) || user.managerUserId === null) {
      result.set(user.userId, NONE);
      continue;
    }
    const manager = byId.get(user.managerUserId);
    if (manager === undefined || manager.personId === null) {
      result.set(user.userId, { managerPersonId: null, problem: 'manager-missing' });
    } else if (!manager.inDirectory) {
      result.set(user.userId, { managerPersonId: null, problem: 'manager-out-of-scope' });
    } else {
      next.set(user.userId, manager.userId);
      result.set(user.userId, { managerPersonId: manager.personId, problem: null });
    }
  }

  // Cycles of a functional graph: walk from each unvisited user along its links; meeting a user of the
  // current walk closes a cycle made of the walk from that user on.
  const DONE = -1;
  const state = new Map<string, number>(); // position in the current walk, or DONE
  for (const start of next.keys()) {
    if (state.has(start)) continue;
    const walk: string[] = [];
    let at: string | undefined = start;
    while (at !== undefined && !state.has(at)) {
      state.set(at, walk.length);
      walk.push(at);
      at = next.get(at);
    }
    if (at !== undefined) {
      const position = state.get(at)!;
      if (position !== DONE) {
        for (let i = position; i < walk.length; i++)
          result.set(walk[i]!, { managerPersonId: null, problem: 'manager-cycle' });
      }
    }
    for (const id of walk) state.set(id, DONE);
  }
  return result;
}
