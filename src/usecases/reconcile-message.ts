import { z } from 'zod';

import { bucketCountProblem, userBucketOf } from '../domain/bucket.js';
import type { DirectoryChange, EdgeChange, GroupChange, UserChange } from '../domain/directory.js';
import { DEFAULT_POLICY } from '../domain/policy.js';
import { forEachConcurrently } from '../shared/concurrency.js';
import { PermanentError } from '../shared/errors.js';
import { inflateChanges } from './chunk-payload.js';
import { chunkApplied } from './finalize-run.js';
import { giveUpChunk } from './give-up-chunk.js';
import { type ChunkReport, directoryChangeSchema, type DirectoryChunk, type RunRef } from './messages.js';
import type { PipelineDeps } from './pipeline-deps.js';
import { applyUserBucket, type BucketWork, type ChunkOutcome, type PlanSources } from './reconcile-chunk.js';
import { applyGroupChanges } from './reconcile-groups.js';
import { changeSetBlob, heldBlob } from './run-blobs.js';

/** The changes a chunk carries: inline, deflated in the message, or behind its claim check (blobs, in order). */
export async function loadChunkChanges(
  deps: PipelineDeps,
  chunk: DirectoryChunk,
): Promise<DirectoryChange[]> {
  if (chunk.changes) return chunk.changes;
  if (chunk.changesDeflated !== undefined) {
    return parsedChanges(
      `chunk ${chunk.chunkIndex}'s deflated changes`,
      inflateChanges(chunk.chunkIndex, chunk.changesDeflated),
    );
  }
  if (!chunk.blobNames)
    throw new PermanentError(`chunk ${chunk.chunkIndex} has neither changes nor blobs`, 'invalid-data');
  const changes: DirectoryChange[] = [];
  for (const blobName of chunk.blobNames) {
    changes.push(...parsedChanges(`chunk blob ${blobName}`, await deps.chunkStore.get(blobName)));
  }
  return changes;
}

/** A chunk's changes read from where its message put them, checked as the message itself is. */
function parsedChanges(what: string, payload: unknown): DirectoryChange[] {
  const parsed = z.array(directoryChangeSchema).safeParse(payload);
  if (!parsed.success) {
    throw new PermanentError(
      `${what} is malformed: ${parsed.error.issues[0]?.message ?? ''}`,
      'invalid-data',
    );
  }
  return parsed.data;
}

/**
 * Reconciles one `directory-changes` message and reports it to its run (a row in `runChunks`). The
 * outcome is decided once: before the chunk writes anything, its counts and errors are recorded as
 * `decided`; a redelivery (after a crash at any point) re-applies idempotently and reports the counts
 * decided the first time; `applied` marks it done, and a chunk already applied is not applied again.
 */
export async function reconcileMessage(deps: PipelineDeps, chunk: DirectoryChunk): Promise<ChunkReport> {
  const ref: RunRef = { tenantId: chunk.tenantId, runId: chunk.runId, runKey: chunk.runKey };
  const previous = await deps.runs.chunkReport(ref, chunk.chunkIndex);
  if (previous?.state === 'applied') return previous;
  // Cut under another SYNC_BUCKETS than this host's (changed while the chunk waited): its rows would
  // land in other partitions than the tenant's. Nothing of it is applied; the next round is full.
  const refusal = chunk.buckets === undefined ? undefined : bucketCountProblem(chunk.buckets, deps.buckets);
  if (refusal) return refuseChunk(deps, chunk, ref, refusal);
  // A heartbeat while the chunk is worked on (waiting for its bucket's lock included): the watchdog
  // publishes again a chunk whose heartbeat stopped, i.e. whose host died.
  await deps.runs.heartbeat(ref, chunk.chunkIndex);
  const beating = setInterval(() => {
    deps.runs.heartbeat(ref, chunk.chunkIndex).catch(() => undefined);
  }, HEARTBEAT_MS);
  try {
    return await reconcileOnce(deps, chunk, ref, previous);
  } finally {
    clearInterval(beating);
  }
}

/** How often a reconciler says it is alive (the watchdog's bound is three times this). */
export const HEARTBEAT_MS = 2_000;

async function reconcileOnce(
  deps: PipelineDeps,
  chunk: DirectoryChunk,
  ref: RunRef,
  previous: ChunkReport | undefined,
): Promise<ChunkReport> {
  const changes = await loadChunkChanges(deps, chunk);
  const now = deps.now().toISOString();
  const source = `chunk:${chunk.chunkIndex}`;
  const settledRound = await deps.settled.get(chunk.tenantId);
  let decided: ChunkReport | undefined = previous;
  const onDecided = async (outcome: ChunkOutcome): Promise<void> => {
    // Called under the partition's lock: a copy of this message delivered meanwhile (a redelivery,
    // the watchdog's) may have decided first, and its decision stays (counts, change set).
    decided ??= await deps.runs.chunkReport(ref, chunk.chunkIndex);
    if (decided) {
      // A later decision (a redelivery, a retry after a write conflict) may find what the first could
      // not (a conflict with an edit the app made meanwhile, a row over a limit): never hidden.
      if (outcome.errors.length > 0) {
        const errors = await deps.runs.recordLaterErrors(ref, chunk.chunkIndex, source, outcome.errors, now);
        decided = { ...decided, errors: Math.max(decided.errors, errors) };
      }
      return;
    }
    await recordChangeSet(deps, ref, String(chunk.chunkIndex), outcome);
    await deps.runs.recordErrors(ref, outcome.errors, now);
    decided = {
      chunkIndex: chunk.chunkIndex,
      counts: outcome.counts,
      errors: outcome.errors.length,
      writes: zeroWrites,
    };
    await deps.runs.recordChunk(ref, decided, 'decided');
  };
  const connection = await deps.connections.get(chunk.tenantId);
  const policy = connection?.settings.policy ?? DEFAULT_POLICY;
  const sources = async (): Promise<PlanSources> => ({
    policy,
    groups: await deps.groupGraph.load(chunk.tenantId),
  });
  if (chunk.partition === 'groups') {
    await applyGroupChanges(
      deps.tables,
      {
        tenantId: chunk.tenantId,
        runId: chunk.runId,
        changes: changes.filter((c): c is GroupChange | EdgeChange => c.kind !== 'user'),
        now,
        source,
        buckets: deps.buckets,
        settledRound,
        policy,
        sources,
        graphChanged: () => deps.groupGraph.bump(chunk.tenantId),
        managerIndex: deps.managerIndex,
        replanAll: chunk.replan,
      },
      onDecided,
      async (bucket, outcome) => {
        await recordChangeSet(deps, ref, `${chunk.chunkIndex}.b${bucket}`, outcome);
        await deps.runs.recordChunkPart(ref, chunk.chunkIndex, `b${bucket}`, outcome.counts);
      },
    );
  } else {
    const work: ChunkWork = {
      tenantId: chunk.tenantId,
      runId: chunk.runId,
      buckets: deps.buckets,
      now,
      source,
      fresh: chunk.fresh,
      settledRound,
      ...(chunk.replan ? { replan: 'all' as const } : {}),
      sources,
      managerIndex: deps.managerIndex,
    };
    const buckets = chunk.partition.slice('users:'.length).split('+').map(Number);
    if (buckets.length === 1) {
      const bucketChanges = changes.filter((c): c is UserChange | EdgeChange => c.kind !== 'group');
      await applyUserBucket(deps.tables, { ...work, bucket: buckets[0]!, changes: bucketChanges }, onDecided);
    } else decided = await applyPackedBuckets(deps, chunk, ref, buckets, changes, work);
  }
  const meter = deps.tables.meter;
  const report: ChunkReport = {
    chunkIndex: chunk.chunkIndex,
    counts: decided?.counts ?? {},
    errors: decided?.errors ?? 0,
    writes: {
      directoryWrites: meter.directoryWrites,
      // The report row itself is one more write.
      bookkeepingWrites: meter.bookkeepingWrites + 1,
      transactions: meter.transactions + 1,
    },
  };
  await deps.runs.recordChunk(ref, report, 'applied');
  await chunkApplied(deps, ref);
  return report;
}

const zeroWrites = { directoryWrites: 0, bookkeepingWrites: 0, transactions: 0 };

async function refuseChunk(
  deps: PipelineDeps,
  chunk: DirectoryChunk,
  ref: RunRef,
  refusal: string,
): Promise<ChunkReport> {
  const changes = await loadChunkChanges(deps, chunk);
  const message = `chunk ${chunk.chunkIndex} was not applied (${changes.length} changes): ${refusal}; the next round is a full reconciliation`;
  const source = `chunk:${chunk.chunkIndex}`;
  const report = await giveUpChunk(
    deps,
    ref,
    chunk.chunkIndex,
    {
      error: { category: 'configuration', objectId: null, message, source },
      changes,
      fullRoundBecause: message,
    },
    deps.now().toISOString(),
  );
  await chunkApplied(deps, ref);
  return report;
}

/** What a users chunk's buckets share: all of a bucket's work but the bucket and its changes. */
type ChunkWork = Omit<BucketWork, 'bucket' | 'changes'>;

/** Buckets of one packed message applied at once (each under its own lock). */
const PACKED_BUCKETS_IN_FLIGHT = 16;

/**
 * A message that carries several buckets (`users:3+17+42`, see packPartitions): each bucket is applied
 * as a chunk of its own would be, and decides its part of the outcome (`<chunk>.b<bucket>`: counts,
 * change set, errors) under its lock before it writes, once: a copy of the message delivered meanwhile
 * finds the part decided and keeps it. The chunk's report counts the parts' errors, or every error
 * recorded for the chunk when a later decision found more.
 */
async function applyPackedBuckets(
  deps: PipelineDeps,
  chunk: DirectoryChunk,
  ref: RunRef,
  buckets: readonly number[],
  changes: readonly DirectoryChange[],
  work: ChunkWork,
): Promise<ChunkReport> {
  const byBucket = new Map(buckets.map((bucket) => [bucket, [] as (UserChange | EdgeChange)[]]));
  for (const change of changes) {
    const userId = change.kind === 'user' ? change.id : change.kind === 'edge' ? change.memberId : null;
    const list =
      userId === null ? undefined : byBucket.get(userBucketOf(chunk.tenantId, userId, deps.buckets));
    if (!list || change.kind === 'group') {
      throw new PermanentError(
        `chunk ${chunk.chunkIndex}: a ${change.kind} change outside its buckets (${chunk.partition})`,
        'invalid-data',
      );
    }
    list.push(change);
  }
  const { source, now } = work;
  /** Each bucket's errors as first decided (a retry after a write conflict decides again). */
  const partErrors = new Map<number, number>();
  let laterErrors = 0;
  await forEachConcurrently([...byBucket], PACKED_BUCKETS_IN_FLIGHT, async ([bucket, bucketChanges]) => {
    const part = `b${bucket}`;
    await applyUserBucket(deps.tables, { ...work, bucket, changes: bucketChanges }, async (outcome) => {
      const first = await deps.runs.chunkPart(ref, chunk.chunkIndex, part);
      if (first) {
        partErrors.set(bucket, first.errors);
        if (outcome.errors.length > 0) {
          await deps.runs.recordErrors(ref, outcome.errors, now);
          laterErrors = Math.max(laterErrors, await deps.runs.countErrors(ref, source));
        }
        return;
      }
      await recordChangeSet(deps, ref, `${chunk.chunkIndex}.${part}`, outcome);
      await deps.runs.recordErrors(ref, outcome.errors, now);
      await deps.runs.recordChunkPart(ref, chunk.chunkIndex, part, outcome.counts, outcome.errors.length);
      partErrors.set(bucket, outcome.errors.length);
    });
  });
  return {
    chunkIndex: chunk.chunkIndex,
    counts: {},
    errors: Math.max(
      [...partErrors.values()].reduce((a, b) => a + b, 0),
      laterErrors,
    ),
    writes: zeroWrites,
  };
}

/**
 * The chunk's part of the run's change set (what the planner decided, person by person, with the
 * rule), and apart from it what it held for the gate; written before anything of the chunk is, once.
 */
async function recordChangeSet(
  deps: PipelineDeps,
  ref: RunRef,
  part: string,
  outcome: ChunkOutcome,
): Promise<void> {
  if (outcome.entries && outcome.entries.length > 0) {
    await deps.changeSets.put(changeSetBlob(ref, part), outcome.entries);
  }
  if (outcome.held && outcome.held.length > 0) {
    await deps.changeSets.put(heldBlob(ref, part), outcome.held);
  }
}
