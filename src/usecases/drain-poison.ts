import { z } from 'zod';

import { type QueueName, QUEUES } from '../adapters/storage/storage-names.js';
import { lastFailure } from './failure-notes.js';
import { directoryChunkSchema, runRefSchema, syncRequestSchema } from './messages.js';
import type { PipelineDeps } from './pipeline-deps.js';
import { loadChunkChanges } from './reconcile-message.js';

/**
 * Drains a message that kept failing (moved to `<queue>-poison` by the host) into its run's error
 * log, with the reason, so no message disappears silently. A poisoned chunk is counted into its run
 * as failed, so the run still completes and says what was not applied.
 */
export async function drainPoisonMessage(
  deps: PipelineDeps,
  queue: QueueName,
  body: unknown,
  dequeueCount: number,
): Promise<{ recordedIn: string }> {
  const now = deps.now().toISOString();
  const failure = await lastFailure(deps.tables, queue, body);
  const attempts = failure?.attempts ?? dequeueCount;
  // A throttled Graph call that exhausted its retries stays rate-limited; anything unexplained is transient.
  const category = failure?.category ?? 'transient';
  const gaveUp = `message from ${queue} failed ${attempts} time(s) and was moved to ${queue}-poison: ${failure?.message ?? 'no failure was noted'}`;

  const chunk = queue === QUEUES.directoryChanges ? directoryChunkSchema.safeParse(body) : undefined;
  if (chunk?.success) {
    const ref = { tenantId: chunk.data.tenantId, runId: chunk.data.runId, runKey: chunk.data.runKey };
    const changes = await loadChunkChanges(deps, chunk.data).catch(() => undefined);
    const people = new Set((changes ?? []).flatMap((c) => (c.kind === 'user' ? [c.id] : [])));
    const lost = changes ? `${changes.length} changes not applied` : 'its changes could not be read';
    await deps.runs.recordErrors(
      ref,
      [
        {
          category,
          objectId: null,
          message: `${gaveUp} (${lost})`,
          source: `poison:${queue}:${chunk.data.chunkIndex}`,
        },
      ],
      now,
    );
    await deps.runs.recordChunk(ref, {
      chunkIndex: chunk.data.chunkIndex,
      counts: { failed: people.size },
      errors: 1,
      writes: { directoryWrites: 0, bookkeepingWrites: 2, transactions: 2 },
    });
    return { recordedIn: ref.runId };
  }

  const ref = runRefSchema.safeParse(body);
  if (ref.success) {
    await deps.runs.recordErrors(
      ref.data,
      [{ category, objectId: null, message: gaveUp, source: `poison:${queue}` }],
      now,
    );
    return { recordedIn: ref.data.runId };
  }

  const request = syncRequestSchema.safeParse(body);
  const tenantId = request.success ? request.data.tenantId : tenantOf(body);
  if (tenantId) {
    const { cursor } = await deps.syncState.readCursor(tenantId);
    const runRef = cursor.round
      ? { tenantId, runId: cursor.round.runId, runKey: cursor.round.runKey }
      : cursor.lastRunKey
        ? {
            tenantId,
            runId: cursor.lastRunKey.slice(cursor.lastRunKey.indexOf('-') + 1),
            runKey: cursor.lastRunKey,
          }
        : { tenantId, runId: 'no-run', runKey: 'no-run' };
    await deps.runs.recordErrors(
      runRef,
      [{ category, objectId: null, message: gaveUp, source: `poison:${queue}` }],
      now,
    );
    return { recordedIn: runRef.runId };
  }
  await deps.runs.recordErrors(
    { tenantId: 'unknown', runId: 'poison', runKey: 'poison' },
    [
      {
        category: 'invalid-data',
        objectId: null,
        message: `${gaveUp}; body: ${JSON.stringify(body).slice(0, 1000)}`,
        source: `poison:${queue}`,
      },
    ],
    now,
  );
  return { recordedIn: 'unknown' };
}

function tenantOf(body: unknown): string | undefined {
  const parsed = z
    .object({ tenantId: z.string().min(1) })
    .loose()
    .safeParse(body);
  return parsed.success ? parsed.data.tenantId : undefined;
}
