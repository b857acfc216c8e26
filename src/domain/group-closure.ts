/**
 * Transitive group membership: which groups lie below some groups (nested members), and which lie above
 * (the groups that contain them). Iterative breadth-first searches, safe on cycles (Entra allows none, but
 * a mirror in the middle of a round may hold one) and on any depth.
 */

/** Nested groups: parent group id → the ids of its child groups (present memberships, groups not deleted). */
export interface GroupGraph {
  readonly children: ReadonlyMap<string, readonly string[]>;
}

function reach(next: (id: string) => readonly string[] | undefined, start: Iterable<string>): Set<string> {
  const seen = new Set<string>();
  const queue: string[] = [];
  for (const id of start) {
    if (!seen.has(id)) {
      seen.add(id);
      queue.push(id);
    }
  }
  for (let head = 0; head < queue.length; head++) {
    for (const other of next(queue[head]!) ?? []) {
      if (!seen.has(other)) {
        seen.add(other);
        queue.push(other);
      }
    }
  }
  return seen;
}

/** The roots and every group nested in one of them, at any depth. */
export function descendantsOf(graph: GroupGraph, roots: Iterable<string>): Set<string> {
  return reach((id) => graph.children.get(id), roots);
}

/** The parent → children map turned around: child group id → the groups it is a direct member of. */
export function parentsOf(graph: GroupGraph): Map<string, string[]> {
  const parents = new Map<string, string[]>();
  for (const [parent, children] of graph.children) {
    for (const child of children) {
      const list = parents.get(child);
      if (list) list.push(parent);
      else parents.set(child, [parent]);
    }
  }
  return parents;
}

/** The given groups and every group that contains one of them, at any depth. */
export function ancestorsOf(graph: GroupGraph, groupIds: Iterable<string>): Set<string> {
  const parents = parentsOf(graph);
  return reach((id) => parents.get(id), groupIds);
}
