import { z } from 'zod';

import { gatePartition } from '../adapters/storage/run-store.js';
import { TABLES } from '../adapters/storage/storage-names.js';
import { isWriteConflict, type Row } from '../adapters/storage/table-gateway.js';
import { userBucketOf } from '../domain/bucket.js';
import { type ChangeCounts, decideGate, type GateDecision } from '../domain/guard.js';
import { RUN_OUTCOMES } from '../domain/person-plan.js';
import { DEFAULT_POLICY, type Policy } from '../domain/policy.js';
import { forEachConcurrently } from '../shared/concurrency.js';
import { linkManagers, type RunOutboxes } from './link-managers.js';
import type { RunRef } from './messages.js';
import type { PipelineDeps } from './pipeline-deps.js';
import type { HeldChange } from './project-people.js';
import { applyUserBucket } from './reconcile-chunk.js';
import { heldChangesPrefix } from './run-blobs.js';

/** Buckets the gate applies at once (each under its own lock). */
const BUCKETS_IN_FLIGHT = 16;

const heldSchema = z.array(
  z.object({
    userId: z.string(),
    personId: z.string().optional(),
    outcome: z.enum(RUN_OUTCOMES),
    rule: z.string(),
  }),
);

/** Held-change blobs read at once. */
const HELD_BLOBS_IN_FLIGHT = 16;

/** The changes a run's chunks held for the gate, one per user (the latest decision wins). */
export async function heldChangesOf(deps: PipelineDeps, ref: RunRef): Promise<HeldChange[]> {
  const names = await deps.changeSets.list(heldChangesPrefix(ref));
  const blobs = new Array<unknown>(names.length);
  await forEachConcurrently([...names.entries()], HELD_BLOBS_IN_FLIGHT, async ([i, name]) => {
    blobs[i] = await deps.changeSets.get(name);
  });
  // In the listing's order, as before: a later blob's decision for a user replaces an earlier one's.
  const byUser = new Map<string, HeldChange>();
  for (const blob of blobs) {
    for (const change of heldSchema.parse(blob))
      byUser.set(change.userId, { ...change, personId: change.personId });
  }
  return [...byUser.values()];
}

export type GateOutcome =
  | { readonly kind: 'passed' }
  | { readonly kind: 'held'; readonly decision: GateDecision }
  /** Another finalizer (the fan-in's check, the watchdog) is passing this run's gate right now. */
  | { readonly kind: 'busy' };

/** How long a gate in progress keeps others away (a dead one is taken over after it). */
const GATE_CLAIM_MS = 120_000;

/** One finalizer passes a run's gate at a time: a claim row, taken over when stale. */
async function claimGate(deps: PipelineDeps, ref: RunRef): Promise<boolean> {
  const partitionKey = gatePartition(ref);
  const now = deps.now().getTime();
  const entity = { partitionKey, rowKey: 'claim', at: now };
  const row = await deps.tables.get(TABLES.runChunks, partitionKey, 'claim');
  if (!row) return deps.tables.createIfAbsent(TABLES.runChunks, entity);
  if (isFresh(row, now)) return false;
  try {
    await deps.tables.replaceIfMatch(TABLES.runChunks, entity, row.etag!);
    return true;
  } catch (error) {
    if (isWriteConflict(error)) return false;
    throw error;
  }
}

/**
 * Whether a finalizer is passing the run's gate now (its claim is fresh): every chunk is in, and the
 * others wait for it without reading the run's reports (at 100,000 users a listing a check, on the
 * storage the gate's own writes need).
 */
export async function gateBeingPassed(deps: PipelineDeps, ref: RunRef): Promise<boolean> {
  const row = await deps.tables.get(TABLES.runChunks, gatePartition(ref), 'claim');
  return row !== undefined && isFresh(row, deps.now().getTime());
}

/** A claim younger than GATE_CLAIM_MS: its finalizer is taken to be alive. */
function isFresh(claim: Row, now: number): boolean {
  return now - Number(claim.at) < GATE_CLAIM_MS;
}

/**
 * The gate, once every chunk of the run is applied (so the run's whole change set is known): the
 * deletion guard and review mode (guard.ts) decide over the change set whether what the planner held
 * (the changes that take people out of the directory; every change in review mode) is applied now
 * or waits for an admin's approval (approve-held.ts). The decision is recorded on the run. What it
 * lets through is applied by re-planning each held user from the mirror as it is now, destructive
 * changes allowed, bucket by bucket under each lock; users another run holds for approval are left
 * to it. Then the managers rule links every person's manager over the whole directory. Idempotent:
 * a gate redone after a crash decides the same and reports the counts decided the first time.
 */
export async function passGate(
  deps: PipelineDeps,
  ref: RunRef,
  changed: boolean,
  run: RunOutboxes,
): Promise<GateOutcome> {
  if (!(await claimGate(deps, ref))) return { kind: 'busy' };
  try {
    return await passClaimedGate(deps, ref, changed, run);
  } finally {
    // A gate passed (or failed) keeps nobody away: a later finalizer may pass it again (idempotent).
    await releaseGate(deps, ref).catch(() => undefined);
  }
}

async function releaseGate(deps: PipelineDeps, ref: RunRef): Promise<void> {
  await deps.tables.upsert(TABLES.runChunks, {
    partitionKey: gatePartition(ref),
    rowKey: 'claim',
    at: 0,
  });
}

async function passClaimedGate(
  deps: PipelineDeps,
  ref: RunRef,
  changed: boolean,
  run: RunOutboxes,
): Promise<GateOutcome> {
  const parts = new Map((await deps.runs.listGateParts(ref)).map((p) => [p.part, p]));
  const held = await heldChangesOf(deps, ref);
  const connection = await deps.connections.get(ref.tenantId);
  const policy = connection?.settings.policy ?? DEFAULT_POLICY;

  let decided = parts.get('decision');
  if (!decided) {
    const counts = await countsOf(deps, ref, held, policy.gate);
    const decision = decideGate(counts, policy.gate);
    await deps.runs.recordGatePart(ref, 'decision', {}, 0, {
      decision: decision.kind === 'pass' ? 'passed' : 'held',
      scope: decision.kind === 'hold' ? decision.scope : '',
      threshold: decision.kind === 'hold' ? decision.threshold : '',
      held: held.length,
      heldCounts: JSON.stringify(countByOutcome(held)),
      destructive: counts.destructive,
      directorySize: counts.directorySize,
    });
    decided = (await deps.runs.listGateParts(ref)).find((p) => p.part === 'decision')!;
  }
  if (decided.row.decision === 'held') {
    const decision: GateDecision = {
      kind: 'hold',
      scope: decided.row.scope === 'review' ? 'review' : 'guard',
      threshold: typeof decided.row.threshold === 'string' ? decided.row.threshold : '',
    };
    // What the run did apply (review mode: nothing) still gets its managers.
    if (changed && !parts.has('managers')) await runManagers(deps, ref, run);
    return { kind: 'held', decision };
  }

  const waiting = await heldByOthers(deps, ref);
  await applyHeld(
    deps,
    ref,
    held.map((h) => h.userId).filter((id) => !waiting.has(id)),
    policy,
    'b',
    parts,
  );
  if ((changed || held.length > 0) && !parts.has('managers')) await runManagers(deps, ref, run);
  return { kind: 'passed' };
}

/**
 * Applies the gate's let-through (or an admin's approval) for these users: each re-planned from the
 * mirror as it is now, destructive changes allowed, a few buckets at once; counts recorded once per
 * bucket as `<prefix>NN`.
 */
export async function applyHeld(
  deps: PipelineDeps,
  ref: RunRef,
  userIds: readonly string[],
  policy: Policy,
  prefix: string,
  parts: ReadonlyMap<string, unknown>,
): Promise<Record<string, number>> {
  const byBucket = new Map<number, Set<string>>();
  for (const id of userIds) {
    const bucket = userBucketOf(ref.tenantId, id, deps.buckets);
    byBucket.set(bucket, (byBucket.get(bucket) ?? new Set<string>()).add(id));
  }
  const total: Record<string, number> = {};
  if (byBucket.size === 0) return total;
  const settledRound = await deps.settled.get(ref.tenantId);
  // Buckets are independent (each under its own lock): a few at once.
  await forEachConcurrently([...byBucket], BUCKETS_IN_FLIGHT, async ([bucket, ids]) => {
    const part = `${prefix}${String(bucket).padStart(2, '0')}`;
    const outcome = await applyUserBucket(
      deps.tables,
      {
        tenantId: ref.tenantId,
        runId: ref.runId,
        bucket,
        buckets: deps.buckets,
        changes: [],
        now: deps.now().toISOString(),
        source: 'gate',
        fresh: false,
        settledRound,
        replan: [...ids],
        allowDestructive: true,
        sources: async () => ({ policy, groups: await deps.groupGraph.load(ref.tenantId) }),
        managerIndex: deps.managerIndex,
      },
      async (decided) => {
        if (parts.has(part)) return;
        await deps.runs.recordErrors(ref, decided.errors, deps.now().toISOString());
        await deps.runs.recordGatePart(ref, part, decided.counts, decided.errors.length);
      },
    );
    for (const [name, n] of Object.entries(outcome.counts)) total[name] = (total[name] ?? 0) + (n ?? 0);
  });
  return total;
}

export async function runManagers(deps: PipelineDeps, ref: RunRef, run: RunOutboxes): Promise<void> {
  const { updated, errors } = await linkManagers(deps, ref, run);
  await deps.runs.recordErrors(ref, errors, deps.now().toISOString());
  // Links corrected here are not counted as people updated (the person's change of this run is), and
  // a manager out of the directory is a warning on the run, with its line in the run's log, not an error.
  await deps.runs.recordGatePart(ref, 'managers', {}, 0, { managerLinks: updated, warnings: errors.length });
}

function countByOutcome(held: readonly HeldChange[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const change of held) counts[change.outcome] = (counts[change.outcome] ?? 0) + 1;
  return counts;
}

const DESTRUCTIVE = new Set(['deactivated', 'removed']);

/** What the guard weighs: the held destructive changes against the directory as it is before them. */
async function countsOf(
  deps: PipelineDeps,
  ref: RunRef,
  held: readonly HeldChange[],
  gate: Policy['gate'],
): Promise<ChangeCounts> {
  const destructive = held.filter((h) => DESTRUCTIVE.has(h.outcome)).length;
  const other = held.length - destructive;
  // The directory's size matters only to the share rule, and only between its two bounds.
  if (destructive < gate.minChangesForShare || destructive > gate.maxDeletions || destructive === 0) {
    return { destructive, other, directorySize: 0 };
  }
  // The managers index holds every linked person with whether it is in the directory: 64 small blobs
  // instead of every people row. People made by hand and never linked are not in it, which can only
  // make the share larger, so the guard holds sooner, never later.
  let directorySize = 0;
  for (const entries of await deps.managerIndex.readAll(ref.tenantId, deps.buckets)) {
    for (const entry of entries.values()) if (entry[1] === 1) directorySize += 1;
  }
  return { destructive, other, directorySize };
}

/**
 * Users whose changes an earlier run holds for approval: a later run leaves them to that run (an
 * approval or a rejection decides them), so a held change is never applied behind the admin's back.
 */
async function heldByOthers(deps: PipelineDeps, ref: RunRef): Promise<Set<string>> {
  const waiting = new Set<string>();
  for (const run of await deps.runs.list(ref.tenantId, 50)) {
    if (run.state !== 'held' || run.runId === ref.runId) continue;
    const other: RunRef = { tenantId: ref.tenantId, runId: String(run.runId), runKey: run.rowKey };
    const approved = await approvedOf(deps, other);
    for (const change of await heldChangesOf(deps, other))
      if (!approved.has(change.userId)) waiting.add(change.userId);
  }
  return waiting;
}

/** The users an admin approved in a held run so far. */
export async function approvedOf(deps: PipelineDeps, ref: RunRef): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const part of await deps.runs.listGateParts(ref)) {
    if (!part.part.startsWith('approval-')) continue;
    for (const id of z
      .array(z.string())
      .parse(JSON.parse(typeof part.row.users === 'string' ? part.row.users : '[]')))
      ids.add(id);
  }
  return ids;
}
