/**
 * A chunk message says what its schema says and no more: on main, every message (and its durable record)
 * also carried the fetcher's whole round (phase, page, its next delta link and pending delta links with
 * their tokens), a kilobyte or more of a 48 KiB message, stripped by the reconciler's parse.
 */
import { QueueClient } from '@azure/storage-queue';
import { describe, expect, it } from 'vitest';

import { decodeQueueMessage } from '../../local/host/queue-message-encoding.js';
import { QUEUES } from '../../src/adapters/storage/storage-names.js';
import { fetchRound } from '../../src/usecases/fetch-round.js';
import { directoryChunkSchema } from '../../src/usecases/messages.js';
import { pipelineForDescribe } from './pipeline-harness.js';
import { quiet, syncRequest } from './pipeline-probes.js';

describe('chunk messages', () => {
  const pipelineOf = pipelineForDescribe({
    standin: { users: 200, seed: 3 },
    schedule: { kind: 'manual' },
    startHost: false,
  });

  it("carry only their schema's fields, in the queue and in the run's record of them", async () => {
    const pipeline = pipelineOf();
    const tenantId = pipeline.env.tenantId;
    const deps = pipeline.deps();
    const fetched = await fetchRound(deps, syncRequest(tenantId, { trigger: 'initial' }), quiet);
    expect(fetched.kind).toBe('completed');
    const allowed = new Set(Object.keys(directoryChunkSchema.shape));
    const queue = new QueueClient(pipeline.env.azurite.connectionString, QUEUES.directoryChanges);
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32 });
    expect(receivedMessageItems.length).toBeGreaterThan(0);
    for (const item of receivedMessageItems) {
      const message = JSON.parse(decodeQueueMessage(item.messageText, 'base64') ?? 'null') as object;
      expect(Object.keys(message).filter((key) => !allowed.has(key))).toEqual([]);
      const ref = { tenantId, runId: (message as { runId: string }).runId };
      const recorded = (await deps.runs.publishedBody(
        ref,
        (message as { chunkIndex: number }).chunkIndex,
      )) as object;
      expect(recorded).toEqual(message);
    }
  }, 60_000);
});
