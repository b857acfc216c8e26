import { addCounts, addWrites, type RunState } from '../adapters/storage/run-store.js';
import { QUEUES } from '../adapters/storage/storage-names.js';
import type { Row } from '../adapters/storage/table-gateway.js';
import { RecentPerScope } from '../shared/recent-per-scope.js';
import { readAppliedFrom } from './applied-chunks.js';
import type { RunEvent, RunRef } from './messages.js';
import { gateBeingPassed, passGate } from './pass-gate.js';
import { requestPhotoPass } from './photo-pass.js';
import type { PipelineDeps } from './pipeline-deps.js';
import { requestSecurityAttributePass } from './read-security-attributes.js';
import { runBlobPrefixes } from './run-blobs.js';
import { requestRunNotification } from './run-notifications.js';

export type FanIn = 'waiting' | 'completed' | 'not-running' | 'unknown-run';

/** Outcomes that change the directory (and so may change whose manager is in it). */
const CHANGING = ['created', 'updated', 'deactivated', 'removed', 'reactivated'] as const;

/** Seconds between two checks of a run whose chunks are still being applied. */
export const CHECK_DELAY_SECONDS = 1;

/**
 * A run of at most this many chunks is checked as each chunk is applied (after its fetch is done), so
 * a small round completes as soon as its last chunk is in, not at the next check. Each such check lists
 * the run's reports, so a larger run (a first sync: thousands of chunks) keeps to the periodic checks
 * until a check finds no more than CHECK_EACH_CHUNK_LAST chunks to go: from then on (the run row's
 * `closing`), each of its last chunks checks it too, and the last one completes it at once.
 */
export const CHECK_EACH_CHUNK_UP_TO = 128;
export const CHECK_EACH_CHUNK_LAST = 16;

/**
 * Fan-in. The fetcher's `fetch-done` records how many chunks the round published; then the run is
 * checked: when every chunk has written its report, the reports are summed into the run row and the
 * run completes (once: ETag `If-Match`); otherwise a `check` comes back after a short delay.
 * Chunks report by writing their own row, so thousands of chunks never contend on the run row.
 */
export async function recordRunEvent(deps: PipelineDeps, event: RunEvent): Promise<FanIn> {
  const ref: RunRef = { tenantId: event.tenantId, runId: event.runId, runKey: event.runKey };
  // A chunk's hint sends no follow-up: the fetch-done's own checks continue (see chunkApplied).
  if (event.type === 'chunk-applied') return checkCoalesced(deps, ref);
  if (event.type === 'fetch-done') await recordFetchDone(deps, event);
  const result = await completeIfAllReported(deps, ref);
  if (result === 'waiting') {
    const attempt = event.type === 'check' ? event.attempt + 1 : 0;
    await deps.queues.send(QUEUES.runEvents, { type: 'check', ...ref, attempt } satisfies RunEvent, {
      delaySeconds: CHECK_DELAY_SECONDS,
    });
  }
  return result;
}

/** The runs this process is checking for a `chunk-applied` event, each with whether another came meanwhile. */
const checking = new Map<string, { again: boolean }>();

/** A run as this process's own records of it (`checking`, `smallRuns`; the watchdog's) name it. */
export function runKeyOf(ref: RunRef): string {
  return `${ref.tenantId}|${ref.runId}`;
}

/**
 * A small run's chunks end close together, and each asks for a check that lists every report of the
 * run: while this process checks a run, a `chunk-applied` event for it only asks that check to look once
 * more when it is done (its message is then complete), so a burst of chunks costs two checks, not one
 * each. The check that was asked again is redone by the same invocation; if that invocation fails, its
 * own message is retried, which checks again, so no chunk's check is lost.
 */
async function checkCoalesced(deps: PipelineDeps, ref: RunRef): Promise<FanIn> {
  const key = runKeyOf(ref);
  const running = checking.get(key);
  if (running) {
    running.again = true;
    return 'waiting';
  }
  const state = { again: false };
  checking.set(key, state);
  try {
    for (;;) {
      const result = await completeIfAllReported(deps, ref);
      if (result !== 'waiting' || !state.again) return result;
      state.again = false;
    }
  } finally {
    checking.delete(key);
  }
}

/**
 * Runs this process found small with their fetch done, per storage account (TableGateway.scope): a
 * run's chunksTotal is written once, so its other chunks ask for a check without reading it again (a
 * check of a run that completed meanwhile changes nothing). The most recent few are kept.
 */
const smallRuns = new RecentPerScope<true>(64);

/** Per run this process checks, the first chunk its last check found not applied (applied-chunks.ts). */
const checkedUpTo = new RecentPerScope<number>(64);

/**
 * A chunk is in: when its fetch is done and its run is small or closing (a check found only its last
 * chunks to go), the run is checked now (a `chunk-applied` event); when this process is checking the
 * run already, that check only looks once more (as for a `chunk-applied` event that meets it: see
 * checkCoalesced), and nothing is sent. Nothing while the fetch runs (its fetch-done checks), nor for the
 * bulk of a large run's chunks (the periodic checks).
 */
export async function chunkApplied(deps: PipelineDeps, ref: RunRef): Promise<void> {
  const key = runKeyOf(ref);
  if (!smallRuns.get(deps.tables.scope, key)) {
    const run = await deps.runs.get(ref);
    const total = Number(run?.chunksTotal ?? -1);
    if (run?.state !== ('running' satisfies RunState) || total < 0) return;
    if (total > CHECK_EACH_CHUNK_UP_TO && run.closing !== true) return;
    if (total <= CHECK_EACH_CHUNK_UP_TO) smallRuns.set(deps.tables.scope, key, true);
  }
  const running = checking.get(key);
  if (running) {
    running.again = true;
    return;
  }
  await deps.queues.send(QUEUES.runEvents, { type: 'chunk-applied', ...ref } satisfies RunEvent);
}

/** Records what the fetcher published (once: a repeated fetch-done changes nothing). */
export async function recordFetchDone(
  deps: PipelineDeps,
  event: Extract<RunEvent, { type: 'fetch-done' }>,
): Promise<void> {
  const ref: RunRef = { tenantId: event.tenantId, runId: event.runId, runKey: event.runKey };
  await deps.runs.transition(ref, (row) => {
    if (row.state !== ('running' satisfies RunState) || Number(row.chunksTotal) >= 0) return undefined;
    const next: Row = { ...row, chunksTotal: event.chunksTotal, graphRequests: event.graphRequests };
    addWrites(next, event.writes);
    next.errors = Number(next.errors) + event.errors;
    return next;
  });
}

export async function completeIfAllReported(deps: PipelineDeps, ref: RunRef): Promise<FanIn> {
  const run = await deps.runs.get(ref);
  if (!run) return 'unknown-run';
  if (run.state !== ('running' satisfies RunState)) return 'not-running';
  const total = Number(run.chunksTotal);
  if (total < 0) return 'waiting';
  if (await gateBeingPassed(deps, ref)) return 'waiting';
  const key = runKeyOf(ref);
  const seen = await readAppliedFrom(deps.runs, ref, total, checkedUpTo.get(deps.tables.scope, key) ?? 0);
  checkedUpTo.set(deps.tables.scope, key, seen.next);
  if (seen.count < total) {
    if (total > CHECK_EACH_CHUNK_UP_TO && total - seen.count <= CHECK_EACH_CHUNK_LAST && !run.closing) {
      await deps.runs.transition(ref, (row) =>
        row.state === ('running' satisfies RunState) && row.closing !== true
          ? { ...row, closing: true }
          : undefined,
      );
    }
    return 'waiting';
  }
  const reports = seen.from === 0 ? seen.reports : await deps.runs.listChunks(ref);
  // Every chunk is in: the run's change set is whole. The gate decides what of the held changes is
  // applied, applies it, and links managers (pass-gate.ts); then the run completes.
  const changed = reports.some((r) =>
    CHANGING.some((outcome) => r.chunkIndex < total && (r.counts[outcome] ?? 0) > 0),
  );
  // Each chunk put its events into the feed before it reported, but one given up (it reports an error).
  const inFeed = reports.every((r) => r.chunkIndex >= total || r.errors === 0);
  const gated = await passGate(deps, ref, changed, { inFeed });
  if (gated.kind === 'busy') return 'waiting';
  const gate = await deps.runs.listGateParts(ref);
  const completed = await deps.runs.transition(ref, (current) => {
    if (current.state !== ('running' satisfies RunState)) return undefined;
    const row = { ...current };
    for (const report of reports) {
      if (report.chunkIndex >= total) continue;
      addCounts(row, report.counts);
      addWrites(row, report.writes);
      row.errors = Number(row.errors) + report.errors;
    }
    for (const part of gate) {
      addCounts(row, part.counts);
      row.errors = Number(row.errors) + part.errors;
      if (part.part === 'decision') {
        row.gate = typeof part.row.decision === 'string' ? part.row.decision : '';
        row.heldCounts = typeof part.row.heldCounts === 'string' ? part.row.heldCounts : '{}';
        row.gateThreshold = typeof part.row.threshold === 'string' ? part.row.threshold : '';
      }
      if (part.part === 'managers') {
        row.managerLinks = Number(part.row.managerLinks ?? 0);
        row.warnings = Number(part.row.warnings ?? 0);
      }
    }
    row.chunksDone = seen.count;
    // A round that failed after publishing ends `failed` once what it published is accounted for.
    // A run whose changes the gate holds waits for an admin (approve-held.ts).
    row.state = (
      typeof row.failure === 'string' && row.failure !== ''
        ? 'failed'
        : gated.kind === 'held'
          ? 'held'
          : Number(row.errors) > 0
            ? 'completed-with-errors'
            : 'completed'
    ) satisfies RunState;
    row.endedAt = deps.now().toISOString();
    return row;
  });
  // Only the writer that won the transition does what completion triggers.
  if (!completed) return 'not-running';
  await requestRunNotification(deps, ref, completed);
  await settleRounds(deps, ref.tenantId);
  // What delta does not track has its own passes, after each full reconciliation (each skips itself
  // when the policy needs nothing of it).
  if (completed.full === true) {
    await requestPhotoPass(deps, ref.tenantId, 'full-run');
    await requestSecurityAttributePass(deps, ref.tenantId, 'full-run');
  }
  await removeRunBlobs(deps, ref);
  return 'completed';
}

/**
 * Moves the tenant's settled round forward: every round before the oldest run still running has
 * had all its chunks applied, so its changes can only come back as duplicates.
 */
export async function settleRounds(deps: PipelineDeps, tenantId: string): Promise<void> {
  const runs = await deps.runs.list(tenantId, 50);
  const seqs = runs.map((row) => Number(row.seq ?? 0)).filter((seq) => seq > 0);
  if (seqs.length === 0) return;
  const running = runs
    .filter((row) => row.state === ('running' satisfies RunState))
    .map((row) => Number(row.seq ?? 0));
  const settled = running.length > 0 ? Math.min(...running) - 1 : Math.max(...seqs);
  if (settled > 0) await deps.settled.advance(tenantId, settled);
}

/** A completed run's staged changes, claim checks and held memberships are no longer needed (best effort). */
async function removeRunBlobs(deps: PipelineDeps, ref: RunRef): Promise<void> {
  for (const prefix of runBlobPrefixes(ref)) {
    await deps.chunkStore.deletePrefix(prefix).catch(() => undefined);
  }
}
