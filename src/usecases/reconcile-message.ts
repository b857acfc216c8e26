import { z } from 'zod';

import type { DirectoryChange, EdgeChange, GroupChange, UserChange } from '../domain/directory.js';
import { PermanentError } from '../shared/errors.js';
import { type ChunkReport, directoryChangeSchema, type DirectoryChunk } from './messages.js';
import type { PipelineDeps } from './pipeline-deps.js';
import { applyUserBucket } from './reconcile-chunk.js';
import { applyGroupChanges } from './reconcile-groups.js';

/** The changes a chunk carries, inline or behind its claim check (blobs, in order). */
export async function loadChunkChanges(
  deps: PipelineDeps,
  chunk: DirectoryChunk,
): Promise<DirectoryChange[]> {
  if (chunk.changes) return chunk.changes;
  if (!chunk.blobNames)
    throw new PermanentError(`chunk ${chunk.chunkIndex} has neither changes nor blobs`, 'invalid-data');
  const changes: DirectoryChange[] = [];
  for (const blobName of chunk.blobNames) {
    const parsed = z.array(directoryChangeSchema).safeParse(await deps.chunkStore.get(blobName));
    if (!parsed.success) {
      throw new PermanentError(
        `chunk blob ${blobName} is malformed: ${parsed.error.issues[0]?.message ?? ''}`,
        'invalid-data',
      );
    }
    changes.push(...parsed.data);
  }
  return changes;
}

/**
 * Reconciles one `directory-changes` message and reports it to its run (a row in `runChunks`): what
 * it decided for each person and what it wrote.
 */
export async function reconcileMessage(deps: PipelineDeps, chunk: DirectoryChunk): Promise<ChunkReport> {
  const changes = await loadChunkChanges(deps, chunk);
  const now = deps.now().toISOString();
  const source = `chunk:${chunk.chunkIndex}`;
  const outcome =
    chunk.partition === 'groups'
      ? await applyGroupChanges(
          deps.tables,
          chunk.tenantId,
          changes.filter((c): c is GroupChange | EdgeChange => c.kind !== 'user'),
          now,
          source,
          deps.buckets,
        )
      : await applyUserBucket(
          deps.tables,
          chunk.tenantId,
          Number(chunk.partition.slice('users:'.length)),
          changes.filter((c): c is UserChange | EdgeChange => c.kind !== 'group'),
          now,
          source,
          chunk.fresh,
        );
  const ref = { tenantId: chunk.tenantId, runId: chunk.runId, runKey: chunk.runKey };
  await deps.runs.recordErrors(ref, outcome.errors, now);
  const meter = deps.tables.meter;
  const report: ChunkReport = {
    chunkIndex: chunk.chunkIndex,
    counts: outcome.counts,
    errors: outcome.errors.length,
    writes: {
      directoryWrites: meter.directoryWrites,
      // The report row itself is one more write.
      bookkeepingWrites: meter.bookkeepingWrites + 1,
      transactions: meter.transactions + 1,
    },
  };
  await deps.runs.recordChunk(ref, report);
  return report;
}
