import { setTimeout as sleep } from 'node:timers/promises';

import type { PublishedChunk, RunState } from '../adapters/storage/run-store.js';
import { QUEUES } from '../adapters/storage/storage-names.js';
import type { Row } from '../adapters/storage/table-gateway.js';
import { RecentPerScope } from '../shared/recent-per-scope.js';
import { readAppliedFrom } from './applied-chunks.js';
import { completeIfAllReported, runKeyOf } from './finalize-run.js';
import { giveUpChunk } from './give-up-chunk.js';
import type { RunRef } from './messages.js';
import { gateBeingPassed } from './pass-gate.js';
import type { Logger, PipelineDeps } from './pipeline-deps.js';
import { publishAgain } from './publish-again.js';
import { HEARTBEAT_MS } from './reconcile-message.js';
import { requestResume } from './request-sync.js';

/**
 * The bounds the watchdog works with. A host that dies leaves its in-flight messages invisible for
 * up to 10 minutes (the Functions host's dequeue visibility, renewed while an invocation runs), so
 * recovery in seconds comes from here, never from a shorter host lease.
 */
export const WATCHDOG = {
  /** A chunk whose reconciler has not beaten for this long is taken for dead. */
  staleHeartbeatMs: 3 * HEARTBEAT_MS,
  /**
   * A chunk nobody has started whose message is no longer visible in the queue (the oldest visible one
   * is younger, or none is): it can only be invisible, taken by a host that died before it began (or is
   * beginning it now): published again after this long. A chunk waiting its turn behind a backlog is
   * still visible, so it is left alone however long the backlog takes...
   */
  unclaimedIdleQueueMs: 3 * HEARTBEAT_MS,
  /**
   * ...unless it waited past the host's dequeue visibility (10 minutes): a message taken by a dead host
   * is visible again by then, so a chunk still unstarted has lost its message (or the queue's order
   * fooled the rule above).
   */
  unclaimedMs: 600_000,
  /**
   * A chunk's record is written just before its message is sent, on the host's clock, and the queue
   * stamps the message on its own: a message up to this much younger than the record may be its own.
   */
  publishSlackMs: 10_000,
  /**
   * A chunk nobody has started, while one published this much later has started: the queue, first in
   * first out, has handed out what was behind it, so it was taken by a host that died before it began
   * (with a backlog its message's age cannot tell that): published again. The margin keeps apart the
   * chunks of one flush, sent together in any order.
   */
  overtakenByMs: 3_000,
  /**
   * A chunk judged taken and not begun by the rules above is published again only if it still has not
   * begun this long after the watchdog first saw it so: a live host that has just taken a chunk out of
   * a backlog writes its first heartbeat a moment later, and a tick in that moment sees what a dead
   * host's taken chunk looks like. The bound a reconciler has to beat.
   */
  unclaimedConfirmMs: 3 * HEARTBEAT_MS,
  /** At most one new copy of a chunk this often. */
  republishEveryMs: 3 * HEARTBEAT_MS,
  /** After this many new copies, a chunk that still stalls is lost. */
  maxRepublish: 3,
  /** A run whose round is no longer in flight and never said how many chunks it published. */
  orphanAfterMs: 120_000,
  /**
   * A round lease whose holder missed a renewal and that ends within this long (the watchdog's period)
   * is waited for in the tick that sees it, rather than found expired a tick later.
   */
  leaseEndWaitMs: 2_000,
} as const;

export interface WatchReport {
  readonly resumedRounds: string[];
  readonly republished: number;
  readonly lost: number;
  readonly completed: number;
}

/**
 * The watchdog (a timer every few seconds): resumes a round whose fetcher died (its lease expired),
 * publishes again, from the run's durable record, every chunk whose host died, declares lost a chunk
 * that keeps stalling (named in the run's errors; the tenant's next round is then full), and
 * completes a run whose chunks are all in (a lost `check` cannot leave it running).
 */
export async function watchRuns(deps: PipelineDeps, log: Logger): Promise<WatchReport> {
  const report = { resumedRounds: [] as string[], republished: 0, lost: 0, completed: 0 };
  for (const connection of await deps.connections.list()) {
    const { tenantId, enabled } = connection.settings;
    if (!enabled) continue;
    if (await roundStalls(deps, tenantId)) {
      log.warn('round stalled: its fetcher stopped renewing its lease; resuming it', { tenantId });
      await requestResume(deps, tenantId);
      report.resumedRounds.push(tenantId);
    }
    const running = (await deps.runs.list(tenantId, 10)).filter(
      (row) => row.state === ('running' satisfies RunState),
    );
    for (const row of running) {
      const ref: RunRef = { tenantId, runId: String(row.runId), runKey: row.rowKey };
      const outcome = await superviseRun(deps, ref, row, log);
      report.republished += outcome.republished;
      report.lost += outcome.lost;
      if (outcome.completed) report.completed += 1;
    }
  }
  return report;
}

/**
 * Whether the tenant's round in flight has lost its fetcher (its lease expired): at once, or after
 * waiting out a lease its holder stopped renewing that ends before the next tick.
 */
async function roundStalls(deps: PipelineDeps, tenantId: string): Promise<boolean> {
  const lease = await deps.syncState.roundLease(tenantId);
  if (!lease) return false;
  if (lease.stalled) return true;
  if (!lease.renewalMissed || lease.endsInMs > WATCHDOG.leaseEndWaitMs) return false;
  await sleep(lease.endsInMs + LEASE_END_MARGIN_MS);
  return (await deps.syncState.roundLease(tenantId))?.stalled === true;
}

/** Past a lease's end before it is read again (clocks of one host; the row says when it ends). */
const LEASE_END_MARGIN_MS = 50;

/**
 * Per run this process watches: the first chunk its last tick found not applied (it reads from there:
 * applied-chunks.ts), and the latest publication of a chunk below it that had started.
 */
const watched = new RecentPerScope<{ from: number; startedPublishedAt: number }>(64);

async function superviseRun(
  deps: PipelineDeps,
  ref: RunRef,
  row: Row,
  log: Logger,
): Promise<{ republished: number; lost: number; completed: boolean }> {
  const total = Number(row.chunksTotal);
  const now = deps.now().getTime();
  if (total < 0) {
    await failIfOrphaned(deps, ref, row, now, log);
    return { republished: 0, lost: 0, completed: false };
  }
  // Every chunk is in, and a finalizer is passing the gate: nothing to watch, nothing to complete.
  if (await gateBeingPassed(deps, ref)) return { republished: 0, lost: 0, completed: false };
  const key = runKeyOf(ref);
  const memo = watched.get(deps.tables.scope, key) ?? { from: 0, startedPublishedAt: -Infinity };
  const seen = await readAppliedFrom(deps.runs, ref, total, memo.from);
  const stalled: PublishedChunk[] = [];
  /** Taken and not begun at this first sight (see WATCHDOG.unclaimedConfirmMs). */
  const suspected: number[] = [];
  let startedBelowNext = memo.startedPublishedAt;
  if (seen.count < total) {
    // Chunks below seen.from are applied: their rows are not read again.
    const beats = await deps.runs.heartbeats(ref, seen.from);
    let oldest: { at: number | undefined } | undefined;
    /** Could this chunk's message still be waiting in the queue (visible, behind others)? */
    const mayBeQueued = async (publishedAt: number): Promise<boolean> => {
      oldest ??= { at: await deps.queues.oldestVisibleInsertedAt(QUEUES.directoryChanges) };
      return oldest.at !== undefined && oldest.at <= publishedAt + WATCHDOG.publishSlackMs;
    };
    const published = await deps.runs.listPublished(ref, seen.from);
    // The latest publication of a chunk that has started since (applied ones included; those below
    // seen.from as remembered).
    let startedPublishedAt = memo.startedPublishedAt;
    for (const chunk of published) {
      const beat = beats.get(chunk.chunkIndex);
      if (beat === undefined || beat <= chunk.lastPublishedAt) continue;
      startedPublishedAt = Math.max(startedPublishedAt, chunk.lastPublishedAt);
      if (chunk.chunkIndex < seen.next) startedBelowNext = Math.max(startedBelowNext, chunk.lastPublishedAt);
    }
    for (const chunk of published) {
      if (chunk.chunkIndex >= total || seen.applied.has(chunk.chunkIndex)) continue;
      if (now - chunk.lastPublishedAt < WATCHDOG.republishEveryMs) continue;
      // A heartbeat from before the chunk's latest copy is the dead host's, not the copy's: the copy is
      // judged as a chunk nobody has started (it may be waiting its turn in the queue).
      const beat = beats.get(chunk.chunkIndex);
      if (beat !== undefined && beat > chunk.lastPublishedAt) {
        if (now - beat > WATCHDOG.staleHeartbeatMs) stalled.push(chunk);
        continue;
      }
      const waited = now - chunk.lastPublishedAt;
      const taken =
        waited > WATCHDOG.unclaimedMs ||
        (waited > WATCHDOG.unclaimedIdleQueueMs &&
          (startedPublishedAt - chunk.lastPublishedAt > WATCHDOG.overtakenByMs ||
            !(await mayBeQueued(chunk.lastPublishedAt))));
      if (!taken) continue;
      if (chunk.suspectedAt === 0) suspected.push(chunk.chunkIndex);
      else if (now - chunk.suspectedAt >= WATCHDOG.unclaimedConfirmMs) stalled.push(chunk);
    }
  }
  watched.set(deps.tables.scope, key, { from: seen.next, startedPublishedAt: startedBelowNext });
  if (suspected.length > 0) await deps.runs.markSuspected(ref, suspected, now);
  const lost = stalled.filter((chunk) => chunk.republished >= WATCHDOG.maxRepublish);
  const again = stalled.filter((chunk) => chunk.republished < WATCHDOG.maxRepublish);
  await publishAgain(deps, ref, again);
  for (const chunk of lost) await declareLost(deps, ref, chunk);
  if (stalled.length > 0) {
    const note =
      `${new Date(now).toISOString()}: ${again.length} chunk(s) published again (no heartbeat for ` +
      `${WATCHDOG.staleHeartbeatMs / 1000} s: their host stopped)` +
      (lost.length > 0 ? `, ${lost.length} declared lost` : '');
    log.warn('run stalled: chunks published again from its record', {
      tenantId: ref.tenantId,
      runId: ref.runId,
      chunks: again.map((c) => c.chunkIndex),
      lost: lost.map((c) => c.chunkIndex),
    });
    await deps.runs.transition(ref, (current) =>
      current.state !== ('running' satisfies RunState)
        ? undefined
        : { ...current, recoveries: Number(current.recoveries ?? 0) + again.length, lastRecovery: note },
    );
  }
  // Only a run whose chunks are all in (or just accounted for as lost) can complete: the others are
  // not read again this tick.
  const mayComplete = seen.count >= total || lost.length > 0;
  const completed = mayComplete && (await completeIfAllReported(deps, ref)) === 'completed';
  return { republished: again.length, lost: lost.length, completed };
}

/**
 * A chunk that kept stalling after its new copies is lost: named in the run's errors, counted, and
 * the tenant's next round is a full reconciliation (the delta link has moved past its changes).
 */
async function declareLost(deps: PipelineDeps, ref: RunRef, chunk: PublishedChunk): Promise<void> {
  const message = `chunk ${chunk.chunkIndex} was lost: published ${chunk.republished + 1} times and never applied; the next round is a full reconciliation`;
  await giveUpChunk(
    deps,
    ref,
    chunk.chunkIndex,
    {
      error: { category: 'transient', objectId: null, message, source: `watchdog:${chunk.chunkIndex}` },
      changes: undefined,
      fullRoundBecause: message,
    },
    deps.now().toISOString(),
  );
}

/** A run whose round is gone without saying what it published: it ends failed, with the reason. */
async function failIfOrphaned(
  deps: PipelineDeps,
  ref: RunRef,
  row: Row,
  now: number,
  log: Logger,
): Promise<void> {
  const startedAt = Date.parse(String(row.startedAt));
  if (!(now - startedAt > WATCHDOG.orphanAfterMs)) return;
  const { cursor } = await deps.syncState.readCursor(ref.tenantId);
  if (cursor.round?.runId === ref.runId) return;
  const published = await deps.runs.listPublished(ref);
  const reason = 'its round was abandoned before it finished (no fetcher holds it any more)';
  // Decided on the run row as it is now: a fetcher that has just said how many chunks it published
  // (after this tick read the run) ended its round, and nothing is recorded.
  const failed = await deps.runs.transition(ref, (current) =>
    current.state !== ('running' satisfies RunState) || Number(current.chunksTotal) >= 0
      ? undefined
      : {
          ...current,
          failure: reason,
          chunksTotal: published.reduce((max, c) => Math.max(max, c.chunkIndex + 1), 0),
          errors: Number(current.errors) + 1,
        },
  );
  if (!failed) return;
  log.warn('run orphaned: it ends failed', { tenantId: ref.tenantId, runId: ref.runId });
  await deps.runs.recordErrors(
    ref,
    [{ category: 'transient', objectId: null, message: reason, source: 'watchdog' }],
    deps.now().toISOString(),
  );
}
