import { QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { QUEUES } from '../../src/adapters/storage/storage-names.js';
import type { Logger } from '../../src/ports/logger.js';
import { fetchRound } from '../../src/usecases/fetch-round.js';
import { recordFetchDone } from '../../src/usecases/finalize-run.js';
import { type RunEvent, runEventSchema, type SyncRequest } from '../../src/usecases/messages.js';
import { watchRuns } from '../../src/usecases/watch-runs.js';
import { PipelineUnderTest } from './pipeline-harness.js';

const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * The watchdog publishes again a chunk that nobody started only when its message can no longer be in
 * the queue (taken by a host that died). A chunk waiting its turn behind a long backlog is still
 * visible there: it is left alone however long it waits (at 100,000 users a full sync's backlog waits
 * minutes, and publishing it again only doubles the work). The watchdog's clock is moved on; the
 * queue's is not.
 */
describe('the watchdog and a backlog', () => {
  let pipeline: PipelineUnderTest;

  beforeAll(async () => {
    pipeline = await PipelineUnderTest.start({
      standin: { users: 300, seed: 5 },
      schedule: { kind: 'manual' },
      startHost: false,
    });
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  it('a chunk waiting in the queue for minutes is not published again; one whose message a dead host took is', async () => {
    const deps = pipeline.deps();
    const tenantId = pipeline.env.tenantId;
    const request: SyncRequest = {
      type: 'sync-request',
      tenantId,
      trigger: 'initial',
      full: true,
      requestedAt: new Date().toISOString(),
    };
    expect((await fetchRound(deps, request, quiet)).kind).toBe('completed');
    // No host runs: the finalizer's part is done here (the run learns how many chunks it has).
    const runEvents = new QueueClient(pipeline.env.azurite.connectionString, QUEUES.runEvents);
    const { receivedMessageItems } = await runEvents.receiveMessages({ numberOfMessages: 32 });
    const events = receivedMessageItems.map((m) =>
      runEventSchema.parse(JSON.parse(Buffer.from(m.messageText, 'base64').toString('utf8'))),
    );
    const done = events.find((e): e is Extract<RunEvent, { type: 'fetch-done' }> => e.type === 'fetch-done');
    expect(done).toBeDefined();
    await recordFetchDone(deps, done!);
    expect(done!.chunksTotal).toBeGreaterThan(1);

    const later = { ...deps, now: () => new Date(Date.now() + 5 * 60_000) };
    // Five minutes on, every chunk still waits in the queue, visible: nothing is published again.
    expect((await watchRuns(later, quiet)).republished).toBe(0);

    // A host takes every message and dies: they are invisible for 10 minutes, and nobody beats.
    const changes = new QueueClient(pipeline.env.azurite.connectionString, QUEUES.directoryChanges);
    let taken = 0;
    for (;;) {
      const batch = await changes.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 600 });
      if (batch.receivedMessageItems.length === 0) break;
      taken += batch.receivedMessageItems.length;
    }
    expect(taken).toBe(done!.chunksTotal);
    expect((await watchRuns(later, quiet)).republished).toBe(done!.chunksTotal);
    const { peekedMessageItems } = await changes.peekMessages({ numberOfMessages: 32 });
    expect(peekedMessageItems.length).toBe(Math.min(32, done!.chunksTotal));
  });
});
