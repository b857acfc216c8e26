/**
 * The fetch's fast path: which round's messages wait for the invocation's output bindings, delta pages
 * asked for ahead of the work on them, how an incremental round's partitions share messages, and a
 * first round's flushes while Graph is slow.
 */
import { QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { OutputBindingQueues } from '../../src/adapters/functions/output-binding-queues.js';
import type { ChunkStore } from '../../src/adapters/storage/chunk-store.js';
import { QUEUES } from '../../src/adapters/storage/storage-names.js';
import { userBucketOf } from '../../src/domain/bucket.js';
import type { DeltaPage } from '../../src/ports/directory-source.js';
import { MAX_BUCKETS_PER_CHUNK } from '../../src/usecases/change-publisher.js';
import { fetchRound, FLUSH_BY_TIME_BACKLOG } from '../../src/usecases/fetch-round.js';
import type { DirectoryChunk, SyncRequest } from '../../src/usecases/messages.js';
import type { PipelineDeps } from '../../src/usecases/pipeline-deps.js';
import { pipelineForDescribe, PipelineUnderTest } from './pipeline-harness.js';
import { quiet, syncRequest, withMethod } from './pipeline-probes.js';

/** The deps, with every delta page Graph is asked for going through `around` (to watch or slow it). */
function aroundDeltaPages(
  base: PipelineDeps,
  around: (url: string, get: () => Promise<DeltaPage>) => Promise<DeltaPage>,
): PipelineDeps {
  return {
    ...base,
    directorySourceFor: async (settings) => {
      const source = await base.directorySourceFor(settings);
      const getDeltaPage = source.getDeltaPage.bind(source);
      source.getDeltaPage = (url) => around(url, () => getDeltaPage(url));
      return source;
    },
  };
}

/** The chunk store, with every blob write going through `around`. */
function aroundPuts(store: ChunkStore, around: (put: () => Promise<string>) => Promise<string>): ChunkStore {
  return withMethod(
    store,
    'put',
    (put) =>
      (...args) =>
        around(() => put(...args)),
  );
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('the fetch publishes through the output bindings', () => {
  let pipeline: PipelineUnderTest;
  let chunks: QueueClient;

  beforeAll(async () => {
    // No host: nothing takes the messages, so the queue shows what the fetch sent.
    pipeline = await PipelineUnderTest.start({
      standin: { users: 150, seed: 73 },
      schedule: { kind: 'manual' },
      startHost: false,
    });
    chunks = new QueueClient(pipeline.env.azurite.connectionString, QUEUES.directoryChanges);
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  const queued = async (): Promise<number> => (await chunks.getProperties()).approximateMessagesCount ?? 0;

  /** An incremental round fetched through one invocation's output bindings: its messages' partitions. */
  async function incrementalRoundPartitions(): Promise<string[]> {
    const queues = pipeline.env.services.outputQueues();
    const done = await fetchRound({ ...pipeline.deps(), queues }, syncRequest(pipeline.env.tenantId), quiet);
    expect(done.kind).toBe('completed');
    await queues.sendKeptNow();
    const peeked = await chunks.peekMessages({ numberOfMessages: 32 });
    return peeked.peekedMessageItems.map(
      (m) =>
        (JSON.parse(Buffer.from(m.messageText, 'base64').toString('utf8')) as { partition: string })
          .partition,
    );
  }

  it("sends a full round's chunks as it goes, and keeps an incremental round's for the invocation's end", async () => {
    // One fetch invocation: its own output-binding gateway, as functions/fetch.ts makes one.
    const fetchThrough = (queues: OutputBindingQueues, trigger: SyncRequest['trigger'], full: boolean) =>
      fetchRound(
        { ...pipeline.deps(), queues },
        syncRequest(pipeline.env.tenantId, { trigger, full }),
        quiet,
      );
    expect((await fetchThrough(pipeline.env.services.outputQueues(), 'initial', true)).kind).toBe(
      'completed',
    );
    // Sent while the fetch ran: in the queue before the invocation returned.
    expect(await queued()).toBeGreaterThan(0);
    await chunks.clearMessages();

    const users = pipeline.control.snapshot().users.slice(0, 3);
    users.forEach((user, i) => pipeline.control.rename(user.id, { displayName: `Fast ${i}` }));
    const next = pipeline.env.services.outputQueues();
    expect((await fetchThrough(next, 'manual', false)).kind).toBe('completed');
    // Kept for the output bindings: nothing in the queue until the invocation hands them over.
    expect(await queued()).toBe(0);
    await next.sendKeptNow();
    expect(await queued()).toBeGreaterThan(0);
  });

  it('asks Graph for the next delta page before it stages or publishes the page it has', async () => {
    const base = pipeline.deps();
    let pagesInFlight = 0;
    let pagesAsked = 0;
    const inFlightAtWrite: number[] = [];
    const deps = {
      ...aroundDeltaPages(base, async (_url, get) => {
        pagesInFlight += 1;
        pagesAsked += 1;
        try {
          return await get();
        } finally {
          pagesInFlight -= 1;
        }
      }),
      chunkStore: aroundPuts(base.chunkStore, (put) => {
        inFlightAtWrite.push(pagesInFlight);
        return put();
      }),
      flushEveryPages: 1,
    };
    pipeline.control.setDeltaPageSize(20, 40);
    const done = await fetchRound(
      { ...deps, queues: pipeline.env.services.outputQueues() },
      syncRequest(pipeline.env.tenantId, { full: true }),
      quiet,
    );
    expect(done.kind).toBe('completed');
    // Every flush of a page that has a next one (all but each phase's last) begins while that next page
    // is already asked for: its first write at least finds it in flight (later ones may find it back).
    expect(pagesAsked).toBeGreaterThan(5);
    expect(inFlightAtWrite.filter((n) => n === 1).length).toBeGreaterThanOrEqual(pagesAsked - 2);
    expect(Math.max(...inFlightAtWrite)).toBe(1);
  });

  it('keeps reading Graph, several pages ahead, while a slow flush is under way', async () => {
    const base = pipeline.deps();
    let pagesAsked = 0;
    /** Pages asked for while each flush's blob write was under way. */
    const askedDuringWrite: number[] = [];
    const deps = {
      ...aroundDeltaPages(base, async (_url, get) => {
        pagesAsked += 1;
        await sleep(10);
        return get();
      }),
      chunkStore: aroundPuts(base.chunkStore, async (put) => {
        const before = pagesAsked;
        // A flush slower than several Graph answers (storage busy applying earlier chunks).
        await sleep(150);
        const etag = await put();
        askedDuringWrite.push(pagesAsked - before);
        return etag;
      }),
      flushEveryPages: 4,
    };
    pipeline.control.setDeltaPageSize(10, 20);
    const done = await fetchRound(
      { ...deps, queues: pipeline.env.services.outputQueues() },
      syncRequest(pipeline.env.tenantId, { full: true }),
      quiet,
    );
    expect(done.kind).toBe('completed');
    // Not one page ahead but several: Graph's time is not spent waiting for storage.
    expect(Math.max(...askedDuringWrite)).toBeGreaterThanOrEqual(3);
  });

  it('an incremental round publishes each partition it touched once, the groups partition first', async () => {
    await chunks.clearMessages();
    const [user] = pipeline.control.snapshot().users;
    const group = pipeline.control.snapshot().groups.find((g) => !g.memberIds.includes(user!.id))!;
    // One user's bucket gets a membership (read in the groups phase) and a rename (the users phase).
    pipeline.control.addMember(group.id, user!.id);
    pipeline.control.rename(user!.id, { displayName: 'Renamed once' });
    expect(await incrementalRoundPartitions()).toEqual([
      'groups',
      `users:${userBucketOf(pipeline.env.tenantId, user!.id, pipeline.deps().buckets)}`,
    ]);
  });

  it('an incremental round carries the small partitions of many buckets in few messages', async () => {
    await chunks.clearMessages();
    const { buckets } = pipeline.deps();
    // One rename in each of 40 buckets.
    const byBucket = new Map<number, string>();
    for (const user of pipeline.control.snapshot().users) {
      const bucket = userBucketOf(pipeline.env.tenantId, user.id, buckets);
      if (!byBucket.has(bucket)) byBucket.set(bucket, user.id);
      if (byBucket.size === 40) break;
    }
    [...byBucket.values()].forEach((id, i) => pipeline.control.rename(id, { displayName: `Packed ${i}` }));
    // One delta page: one flush, at the round's end.
    pipeline.control.setDeltaPageSize(200, 500);
    const partitions = await incrementalRoundPartitions();
    const carried = partitions.flatMap((p) => p.slice('users:'.length).split('+').map(Number));
    expect(carried.sort((a, b) => a - b)).toEqual([...byBucket.keys()].sort((a, b) => a - b));
    expect(partitions).toHaveLength(Math.ceil(40 / MAX_BUCKETS_PER_CHUNK));
  });
});

/**
 * A tenant's first round while Graph answers each delta page as slowly as in Azure (local/README.md,
 * "Graph latency model", scaled down), flushing by time alone (never by page count) before the phase's
 * end. `sendChunks` sends a batch of chunk messages (or stands for reconcilers that take them at once).
 * Answers how many users pages Graph had answered when each batch of users' chunks was sent, and in all.
 */
async function firstRoundWhileGraphIsSlow(
  pipeline: PipelineUnderTest,
  sendChunks: (send: () => Promise<void>) => Promise<void>,
): Promise<{ answeredAtSend: number[]; groupsSentAt: number[]; usersPagesAnswered: number }> {
  let usersPagesAnswered = 0;
  const answeredAtSend: number[] = [];
  const groupsSentAt: number[] = [];
  const queues = withMethod(
    pipeline.env.services.outputQueues(),
    'sendAll',
    (sendAll) => (queue, messages, concurrency) => {
      if (queue !== QUEUES.directoryChanges) return sendAll(queue, messages, concurrency);
      // The users' chunks (the groups' message leaves as the groups phase ends, before any users page).
      const chunks = messages as readonly DirectoryChunk[];
      for (const chunk of chunks) if (chunk.partition === 'groups') groupsSentAt.push(usersPagesAnswered);
      const carriesUsers = chunks.some((m) => m.partition !== 'groups');
      if (!carriesUsers) return sendAll(queue, messages, concurrency);
      answeredAtSend.push(usersPagesAnswered);
      return sendChunks(() => sendAll(queue, messages, concurrency));
    },
  );
  const deps = {
    ...aroundDeltaPages(pipeline.deps(), async (url, get) => {
      await sleep(100);
      const page = await get();
      if (url.includes('/users/delta')) usersPagesAnswered += 1;
      return page;
    }),
    queues,
    flushEveryPages: 1000,
    flushEveryMs: 150,
  };
  pipeline.control.setDeltaPageSize(10, 40);
  const done = await fetchRound(
    deps,
    syncRequest(pipeline.env.tenantId, { trigger: 'initial', full: true }),
    quiet,
  );
  expect(done.kind).toBe('completed');
  expect(usersPagesAnswered).toBeGreaterThanOrEqual(15);
  return { answeredAtSend, groupsSentAt, usersPagesAnswered };
}

describe("a tenant's first round, while Graph answers slowly", () => {
  const pipelineOf = pipelineForDescribe({
    standin: { users: 150, seed: 74 },
    schedule: { kind: 'manual' },
    startHost: false,
  });

  it('publishes the users it has read within flushEveryMs, however few pages that is', async () => {
    // Reconcilers that keep pace: the chunks are taken as soon as they are sent (no backlog).
    const { answeredAtSend, usersPagesAnswered } = await firstRoundWhileGraphIsSlow(pipelineOf(), () =>
      Promise.resolve(),
    );
    // Chunks left while Graph was still answering users pages (1.5 s of them), not all at the end.
    const whileReading = answeredAtSend.filter((answered) => answered < usersPagesAnswered);
    expect(whileReading.length).toBeGreaterThanOrEqual(2);
  });
});

describe("a tenant's first round, while Graph answers slowly and the reconcilers have a backlog", () => {
  const pipelineOf = pipelineForDescribe({
    standin: { users: 150, seed: 75 },
    schedule: { kind: 'manual' },
    startHost: false,
  });

  it('does not flush by time behind the backlog: smaller chunks would only cost the reconcilers more per user', async () => {
    const pipeline = pipelineOf();
    // Chunks of another tenant's round, waiting for reconcilers (no host runs here).
    const changes = new QueueClient(pipeline.env.azurite.connectionString, QUEUES.directoryChanges);
    for (let i = 0; i <= FLUSH_BY_TIME_BACKLOG; i += 1) await changes.sendMessage('YmFja2xvZw==');
    const { answeredAtSend, usersPagesAnswered } = await firstRoundWhileGraphIsSlow(pipeline, (send) =>
      send(),
    );
    // Every chunk left once Graph had answered every users page (by the page count: at the phase's end).
    expect(answeredAtSend.length).toBeGreaterThan(0);
    expect(answeredAtSend.filter((answered) => answered < usersPagesAnswered)).toEqual([]);
  });
});

describe("a tenant's first round, its groups", () => {
  const pipelineOf = pipelineForDescribe({
    standin: { users: 150, seed: 76 },
    schedule: { kind: 'manual' },
    startHost: false,
  });

  it('go out once, as the groups phase ends, before Graph has answered any users page (applied while the users are read)', async () => {
    const { groupsSentAt } = await firstRoundWhileGraphIsSlow(pipelineOf(), (send) => send());
    expect(groupsSentAt).toEqual([0]);
  });
});
