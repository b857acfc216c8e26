/**
 * Where a run keeps its blobs in the change-chunks container: one place for the names, so the run's
 * cleanup removes exactly what its fetcher and publisher wrote.
 */
interface RunKey {
  readonly tenantId: string;
  readonly runId: string;
}

/** Where a full round stages its changes until it publishes them, one message per partition. */
export function stagedPrefix(run: RunKey): string {
  return `staged/${run.tenantId}/${run.runId}/`;
}

/** Where a first round keeps the memberships it holds for its users (for a resume). */
export function heldPrefix(run: RunKey): string {
  return `held/${run.tenantId}/${run.runId}/`;
}

/**
 * Where a first round lists, flush by flush, the users whose held memberships went out with them (in
 * chunks recorded at a checkpoint): a resumed round holds none of theirs again. Under heldPrefix.
 */
export function describedPrefix(run: RunKey): string {
  return `${heldPrefix(run)}described/`;
}

/** Claim checks: chunk payloads too large for a queue message. */
export function claimCheckPrefix(run: RunKey): string {
  return `chunks/${run.tenantId}/${run.runId}/`;
}

/** The ids a full round saw, per round sequence (for the sweep of a resumed round). */
export function seenPrefix(round: { readonly tenantId: string; readonly seq: number }): string {
  return `seen/${round.tenantId}/${round.seq}/`;
}

/** Every blob prefix of a run that its completion removes. */
export function runBlobPrefixes(run: RunKey): string[] {
  return [stagedPrefix(run), claimCheckPrefix(run), heldPrefix(run)];
}

/**
 * The change-sets container (kept after the run: the run's change set, for its explanation):
 * `<tenant>/<run>/changes/<part>` what the planner decided, `<tenant>/<run>/gate/<part>` the users
 * whose destructive change waits for the gate.
 */
export function changeSetPrefix(run: RunKey): string {
  return `${run.tenantId}/${run.runId}/changes/`;
}

export function changeSetBlob(run: RunKey, part: string): string {
  return `${changeSetPrefix(run)}${part}.json`;
}

export function heldChangesPrefix(run: RunKey): string {
  return `${run.tenantId}/${run.runId}/gate/`;
}

export function heldBlob(run: RunKey, part: string): string {
  return `${heldChangesPrefix(run)}${part}.json`;
}
