import { QueueClient } from '@azure/storage-queue';
import { writeFileSync } from 'node:fs';
import { it } from 'vitest';

import { QUEUES } from '../../src/adapters/storage/storage-names.js';
import { fetchRound } from '../../src/usecases/fetch-round.js';
import { reconcileMessage } from '../../src/usecases/reconcile-message.js';
import { pipelineForDescribe } from '../pipeline/pipeline-harness.js';
import { drainChunks, quiet, syncRequest } from '../pipeline/pipeline-probes.js';

const log: string[] = [];
(globalThis as any).__azlog = log;
const pipelineOf = pipelineForDescribe({ standin: { users: 2000, seed: 5 }, schedule: { kind: 'manual' }, startHost: false });
it('requests per chunk', async () => {
  const pipeline = pipelineOf();
  const base = pipeline.deps();
  log.length = 0;
  await fetchRound({ ...base, flushEveryPages: 1000, flushEveryMs: 600_000 }, syncRequest(pipeline.env.tenantId, { trigger: 'initial' }), quiet);
  const out: string[] = ['=== fetch', ...log];
  const chunks = await drainChunks(new QueueClient(pipeline.env.azurite.connectionString, QUEUES.directoryChanges));
  for (const chunk of chunks.slice(0, 4)) {
    log.length = 0;
    await reconcileMessage(base, chunk);
    await new Promise((r) => setTimeout(r, 300));
    out.push(`=== chunk ${chunk.chunkIndex} ${chunk.partition}`, ...log);
  }
  writeFileSync('/tmp/per-chunk.log', out.join('\n'));
}, 120_000);
