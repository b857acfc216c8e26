import type { Policy } from './policy.js';

/**
 * The gate's decision over a run's whole change set: let it through, or hold it for an admin.
 * Review mode holds every change of every run. Otherwise the deletion guard holds the changes that
 * take people out of the directory when there are more than `maxDeletions` of them, or more than
 * `maxShare` of the directory (counted from `minChangesForShare` such changes up, so a small
 * directory is not held for one leaver); what adds or updates goes through.
 */
export interface ChangeCounts {
  /** Deactivations and removals the run would apply. */
  readonly destructive: number;
  /** Everything else it decided (creations, updates, reactivations). */
  readonly other: number;
  /** People in the directory before the run's destructive changes. */
  readonly directorySize: number;
}

export type GateDecision =
  | { readonly kind: 'pass' }
  | {
      readonly kind: 'hold';
      /** `review`: every change waits; `guard`: the destructive ones do. */
      readonly scope: 'review' | 'guard';
      readonly threshold: string;
    };

export function decideGate(counts: ChangeCounts, gate: Policy['gate']): GateDecision {
  if (gate.review && counts.destructive + counts.other > 0) {
    return { kind: 'hold', scope: 'review', threshold: 'review mode: every change waits for approval' };
  }
  if (counts.destructive > gate.maxDeletions) {
    return {
      kind: 'hold',
      scope: 'guard',
      threshold: `${counts.destructive} people would leave the directory, more than ${gate.maxDeletions}`,
    };
  }
  if (
    counts.destructive >= gate.minChangesForShare &&
    counts.directorySize > 0 &&
    counts.destructive > gate.maxShare * counts.directorySize
  ) {
    const share = Math.round((counts.destructive / counts.directorySize) * 1000) / 10;
    return {
      kind: 'hold',
      scope: 'guard',
      threshold: `${counts.destructive} of ${counts.directorySize} people (${share}%) would leave the directory, more than ${gate.maxShare * 100}%`,
    };
  }
  return { kind: 'pass' };
}

/** How many destructive changes a decision lets through (the property the guard promises). */
export function destructiveLetThrough(counts: ChangeCounts, decision: GateDecision): number {
  return decision.kind === 'pass' ? counts.destructive : 0;
}

/**
 * What an approval applies: the chosen people among the held ones (all of them when none are
 * chosen), never anyone else.
 */
export function approvedSet(held: readonly string[], chosen: readonly string[] | undefined): string[] {
  if (chosen === undefined) return [...new Set(held)];
  const wanted = new Set(chosen);
  return [...new Set(held.filter((id) => wanted.has(id)))];
}
