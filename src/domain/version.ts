/**
 * Decides which of two changes to the same object is newer. A version is the round sequence, the page
 * within the round and the position within the page, encoded so that string order is version order.
 */
export interface ChangeVersion {
  readonly round: number;
  readonly page: number;
  readonly index: number;
}

/** The position used by a full round's sweep: after every page of that round. */
export const SWEEP_PAGE = 999_999;

export function encodeVersion(version: ChangeVersion): string {
  return [
    version.round.toString().padStart(10, '0'),
    version.page.toString().padStart(6, '0'),
    version.index.toString().padStart(6, '0'),
  ].join('.');
}

/** True when `candidate` should replace what `applied` describes (absent = nothing applied yet). */
export function isNewer(candidate: string, applied: string | undefined): boolean {
  return applied === undefined || candidate > applied;
}

/** Orders changes oldest first, so applying them in order leaves the newest. */
export function byVersion(a: { readonly version: string }, b: { readonly version: string }): number {
  return a.version < b.version ? -1 : a.version > b.version ? 1 : 0;
}

/** The round a version belongs to. */
export function roundOf(version: string): number {
  return Number(version.slice(0, 10)) || 0;
}

/**
 * True when a change belongs to a settled round: every chunk of every round up to `settledRound` has
 * been applied, so such a change is a redelivered duplicate (or a stale writer's) and is ignored.
 */
export function isSettled(version: string, settledRound: number): boolean {
  return roundOf(version) <= settledRound;
}
