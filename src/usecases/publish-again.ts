import type { PublishedChunk } from '../adapters/storage/run-store.js';
import { QUEUES } from '../adapters/storage/storage-names.js';
import { forEachConcurrently } from '../shared/concurrency.js';
import type { RunRef } from './messages.js';
import type { PipelineDeps } from './pipeline-deps.js';

/**
 * Chunks sent again from the run's durable record of them (the watchdog's recoveries, a resumed round's
 * unsent flush). A dead host leaves dozens at once, and each costs three requests (its record read, the
 * message sent, the record marked): one after the other, a loaded pipeline's watchdog tick took 7 s for
 * 58 chunks; they go eight at a time. `assertHeld`: checked before each send (a fetcher's lease).
 */
export async function publishAgain(
  deps: Pick<PipelineDeps, 'runs' | 'queues'>,
  ref: RunRef,
  chunks: readonly PublishedChunk[],
  assertHeld: () => void = () => undefined,
): Promise<void> {
  await forEachConcurrently(chunks, PUBLISH_AGAIN_IN_FLIGHT, async (chunk) => {
    const body = await deps.runs.publishedBody(ref, chunk.chunkIndex);
    if (body === undefined) return;
    assertHeld();
    await deps.queues.send(QUEUES.directoryChanges, body);
    await deps.runs.markRepublished(ref, chunk);
  });
}

const PUBLISH_AGAIN_IN_FLIGHT = 8;
