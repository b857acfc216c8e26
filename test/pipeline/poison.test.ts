/** Issue 7, point 9: poison paths tell the truth (schema failures, drains, undecodable messages, orphans). */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import { QueueClient, QueueServiceClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { encodeMessage } from '../../src/adapters/storage/queue-gateway.js';
import { QUEUES } from '../../src/adapters/storage/storage-names.js';
import type { TenantError } from '../../src/adapters/storage/tenant-error-log.js';
import type { DirectoryChunk, RunEvent } from '../../src/usecases/messages.js';
import { PipelineUnderTest } from './pipeline-harness.js';

describe('poison paths tell the truth', () => {
  let pipeline: PipelineUnderTest;
  let service: QueueServiceClient;

  /** A tenant's error log through GET /api/tenant-errors (any tenant id, connected or not, or unknown). */
  async function errorLog(tenantId: string): Promise<TenantError[]> {
    const response = await fetch(
      `${pipeline.env.host().httpBaseUrl}/api/tenant-errors?of=${encodeURIComponent(tenantId)}&top=100`,
      { headers: { 'x-functions-key': pipeline.env.functionKey } },
    );
    expect(response.status).toBe(200);
    return ((await response.json()) as { tenantErrors: TenantError[] }).tenantErrors;
  }

  /** Waits until the tenant's error log holds an entry matching `match`. */
  async function tenantError(tenantId: string, match: (e: TenantError) => boolean): Promise<TenantError> {
    for (let i = 0; i < 120; i += 1) {
      const found = (await errorLog(tenantId)).find(match);
      if (found) return found;
      await sleep(250);
    }
    throw new Error(`no matching entry in the error log of tenant ${tenantId}`);
  }

  async function send(queue: string, text: string): Promise<void> {
    await service.getQueueClient(queue).sendMessage(text);
  }

  async function queueNames(): Promise<string[]> {
    const names: string[] = [];
    for await (const item of service.listQueues()) names.push(item.name);
    return names;
  }

  async function depth(queue: string): Promise<number> {
    return (await new QueueClient(pipeline.env.azurite.connectionString, queue).getProperties())
      .approximateMessagesCount!;
  }

  beforeAll(async () => {
    pipeline = await PipelineUnderTest.start({
      standin: { users: 120, seed: 91 },
      schedule: { kind: 'manual' },
    });
    service = QueueServiceClient.fromConnectionString(pipeline.env.azurite.connectionString);
    await pipeline.sync('initial');
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  it('a sync request that fails its schema goes to the poison queue at once, and its tenant’s error log says why', async () => {
    const tenantId = pipeline.env.tenantId;
    const body = { type: 'sync-request', tenantId, trigger: 'whenever', requestedAt: 'now' };
    await send(QUEUES.syncRequests, encodeMessage(body));
    const entry = await tenantError(tenantId, (e) => e.source === `poison:${QUEUES.syncRequests}`);
    expect(entry.category).toBe('invalid-data');
    expect(entry.message).toMatch(/does not match its schema/);
    expect(entry.message).toMatch(/trigger/);
    // Refused on its first delivery: retrying cannot fix it.
    expect(entry.dequeueCount).toBe(1);
    expect(entry.body).toContain('whenever');
    expect(await depth(`${QUEUES.syncRequests}-poison`)).toBe(0);
  });

  it('a poisoned chunk is recorded on its run with the real reason and its dequeue count', async () => {
    const [latest] = await pipeline.deps().runs.list(pipeline.env.tenantId, 1);
    const ref = { tenantId: pipeline.env.tenantId, runId: String(latest!.runId), runKey: latest!.rowKey };
    const chunk: DirectoryChunk = {
      type: 'directory-chunk',
      ...ref,
      chunkIndex: 4242,
      partition: 'users:3',
      fresh: false,
      blobNames: ['chunks/missing-for-the-poison-test.json'],
    };
    await send(QUEUES.directoryChanges, encodeMessage(chunk));
    let poisoned: Record<string, unknown> | undefined;
    for (let i = 0; i < 160 && !poisoned; i += 1) {
      await sleep(250);
      poisoned = (await pipeline.deps().runs.listErrors(ref)).find(
        (e) => String(e.source) === `poison:${QUEUES.directoryChanges}:4242`,
      );
    }
    expect(poisoned).toBeDefined();
    expect(String(poisoned!.message)).toMatch(/delivered 5 time\(s\)/);
    expect(String(poisoned!.message)).toMatch(/BlobNotFound|does not exist|404/);
  });

  it('a message that is not base64 is recorded in the unknown tenant’s error log, and no -poison-poison queue exists', async () => {
    await send(QUEUES.directoryChanges, 'this is not base64 {"tenantId": "x"} !!');
    const entry = await tenantError('unknown', (e) => e.body?.includes('this is not base64') === true);
    expect(entry.source).toBe(`poison:${QUEUES.directoryChanges}`);
    expect(entry.message).toMatch(/not valid base64/);
    expect(await depth(`${QUEUES.directoryChanges}-poison`)).toBe(0);
    expect((await queueNames()).filter((name) => name.endsWith('-poison-poison'))).toEqual([]);
  });

  it('base64 text that is not JSON goes to the poison queue at once and is recorded in the unknown tenant’s log', async () => {
    await send(QUEUES.runEvents, Buffer.from('finish it, please', 'utf8').toString('base64'));
    const entry = await tenantError('unknown', (e) => e.body?.includes('finish it, please') === true);
    expect(entry.source).toBe(`poison:${QUEUES.runEvents}`);
    expect(entry.message).toMatch(/does not match its schema/);
    expect(entry.dequeueCount).toBe(1);
  });

  it('a fetch-done for an unknown run is recorded in its tenant’s error log, not silent', async () => {
    const tenantId = pipeline.env.tenantId;
    const runId = randomUUID();
    const event: RunEvent = {
      type: 'fetch-done',
      tenantId,
      runId,
      runKey: `0000000000000-${runId}`,
      chunksTotal: 3,
      graphRequests: 1,
      errors: 0,
      writes: { directoryWrites: 0, bookkeepingWrites: 0, transactions: 0 },
    };
    await send(QUEUES.runEvents, encodeMessage(event));
    const entry = await tenantError(tenantId, (e) => e.message.includes(runId));
    expect(entry.source).toBe(`event:${QUEUES.runEvents}`);
    expect(entry.message).toMatch(/unknown run/);
  });

  it('a sync request for an unknown tenant is recorded in that tenant’s error log, not silent', async () => {
    const tenantId = randomUUID();
    await send(
      QUEUES.syncRequests,
      encodeMessage({
        type: 'sync-request',
        tenantId,
        trigger: 'notification',
        full: false,
        requestedAt: new Date().toISOString(),
      }),
    );
    const entry = await tenantError(tenantId, (e) => e.source === `request:${QUEUES.syncRequests}`);
    expect(entry.message).toMatch(/no connection exists/);
  });
});
