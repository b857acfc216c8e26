import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { ancestorsOf, descendantsOf, type GroupGraph } from '../../../src/domain/group-closure.js';

const ids = ['g0', 'g1', 'g2', 'g3', 'g4', 'g5', 'g6', 'g7', 'g8', 'g9'];
const edgesArb = fc.array(fc.tuple(fc.constantFrom(...ids), fc.constantFrom(...ids)), { maxLength: 30 });
const rootsArb = fc.uniqueArray(fc.constantFrom(...ids, 'unknown'), { maxLength: 4 });

function graphOf(edges: readonly (readonly [string, string])[]): GroupGraph {
  const children = new Map<string, string[]>();
  for (const [parent, child] of edges) children.set(parent, [...(children.get(parent) ?? []), child]);
  return { children };
}

/** The oracle: grow the set over the edge list until a pass adds nothing (no queue, no adjacency map). */
function fixpoint(
  edges: readonly (readonly [string, string])[],
  start: readonly string[],
  direction: 'down' | 'up',
): Set<string> {
  const reached = new Set(start);
  for (let grew = true; grew;) {
    grew = false;
    for (const [parent, child] of edges) {
      const [from, to] = direction === 'down' ? [parent, child] : [child, parent];
      if (reached.has(from) && !reached.has(to)) {
        reached.add(to);
        grew = true;
      }
    }
  }
  return reached;
}

const sorted = (set: Set<string>): string[] => [...set].sort();

describe('group closure', () => {
  it('descendants equal a fixpoint oracle on random graphs with cycles', () => {
    fc.assert(
      fc.property(edgesArb, rootsArb, (edges, roots) => {
        expect(sorted(descendantsOf(graphOf(edges), roots))).toEqual(sorted(fixpoint(edges, roots, 'down')));
      }),
      { numRuns: 500 },
    );
  });

  it('ancestors equal a fixpoint oracle on random graphs with cycles', () => {
    fc.assert(
      fc.property(edgesArb, rootsArb, (edges, roots) => {
        expect(sorted(ancestorsOf(graphOf(edges), roots))).toEqual(sorted(fixpoint(edges, roots, 'up')));
      }),
      { numRuns: 500 },
    );
  });

  it('a group is an ancestor of another exactly when that one is its descendant', () => {
    fc.assert(
      fc.property(edgesArb, fc.constantFrom(...ids), fc.constantFrom(...ids), (edges, a, b) => {
        const graph = graphOf(edges);
        expect(descendantsOf(graph, [a]).has(b)).toBe(ancestorsOf(graph, [b]).has(a));
      }),
      { numRuns: 300 },
    );
  });

  it('includes the roots, ends on a cycle, and walks a 100,000-deep nesting without recursion', () => {
    const cycle = graphOf([
      ['a', 'b'],
      ['b', 'a'],
      ['c', 'c'],
    ]);
    expect(sorted(descendantsOf(cycle, ['a']))).toEqual(['a', 'b']);
    expect(sorted(ancestorsOf(cycle, ['c', 'z']))).toEqual(['c', 'z']);
    const chain = new Map<string, string[]>();
    for (let i = 0; i < 100_000; i++) chain.set(`g${i}`, [`g${i + 1}`]);
    expect(descendantsOf({ children: chain }, ['g0']).size).toBe(100_001);
    expect(ancestorsOf({ children: chain }, ['g100000']).size).toBe(100_001);
  });
});
