import type { ChunkStore } from '../adapters/storage/chunk-store.js';
import type { QueueGateway } from '../adapters/storage/queue-gateway.js';
import { QUEUES } from '../adapters/storage/storage-names.js';
import { userBucketOf } from '../domain/bucket.js';
import type { DirectoryChange } from '../domain/directory.js';
import { chunkPayload } from './chunk-payload.js';
import type { DirectoryChunk, RunRef } from './messages.js';
import { claimCheckPrefix } from './run-blobs.js';

/** The durable record of a run's published chunk messages. */
export interface PublishedChunks {
  recordPublished(ref: RunRef, messages: readonly DirectoryChunk[]): Promise<void>;
}

/** Changes per message of an incremental round: a few batch transactions' worth of one partition. */
export const MAX_CHANGES_PER_CHUNK = 500;

/** Users' partitions one message of an incremental round may carry (applied a few at a time). */
export const MAX_BUCKETS_PER_CHUNK = 16;

/**
 * Which of an incremental flush's partitions share a message. A round of a hundred changes touches
 * dozens of buckets with a few changes each, and a message costs a dozen storage requests of its own
 * whatever it carries (its report, heartbeat, settled round, policy, queue and fan-in): small users'
 * partitions go together, up to MAX_CHANGES_PER_CHUNK changes and MAX_BUCKETS_PER_CHUNK buckets a
 * message (`users:3+17+42`); a partition bigger than a message is sliced into messages of its own.
 * Every change is in exactly one message, and each bucket's changes keep their order.
 */
export function packPartitions(
  partitions: readonly (readonly [string, readonly DirectoryChange[]])[],
): { partition: string; changes: DirectoryChange[] }[] {
  const messages: { partition: string; changes: DirectoryChange[] }[] = [];
  let pack: { buckets: string[]; changes: DirectoryChange[] } | undefined;
  const close = (): void => {
    if (pack) messages.push({ partition: `users:${pack.buckets.join('+')}`, changes: pack.changes });
    pack = undefined;
  };
  for (const [partition, changes] of partitions) {
    if (!partition.startsWith('users:') || changes.length > MAX_CHANGES_PER_CHUNK) {
      messages.push(...sliced(partition, changes));
      continue;
    }
    if (
      pack &&
      (pack.changes.length + changes.length > MAX_CHANGES_PER_CHUNK ||
        pack.buckets.length >= MAX_BUCKETS_PER_CHUNK)
    )
      close();
    pack ??= { buckets: [], changes: [] };
    pack.buckets.push(partition.slice('users:'.length));
    pack.changes.push(...changes);
  }
  close();
  return messages;
}

/** One partition's changes as messages of at most MAX_CHANGES_PER_CHUNK, in order. */
function sliced(
  partition: string,
  changes: readonly DirectoryChange[],
): { partition: string; changes: DirectoryChange[] }[] {
  const messages: { partition: string; changes: DirectoryChange[] }[] = [];
  for (let start = 0; start < changes.length; start += MAX_CHANGES_PER_CHUNK) {
    messages.push({ partition, changes: changes.slice(start, start + MAX_CHANGES_PER_CHUNK) });
  }
  return messages;
}

/**
 * Regroups a round's changes by partition (a user and its memberships by the user's bucket; groups
 * and group-in-group memberships together) and publishes them as `directory-changes` messages. An
 * incremental round publishes the users' partitions at each flush, small ones packed together
 * (packPartitions; a payload over 48 KiB travels deflated, and one too large even so goes to Blob Storage
 * and the message carries its name: chunkPayload), and
 * the groups partition once, first of its last flush's messages (a first round's: of the flush that ends
 * its groups phase). A first round's messages carry one partition each. A full round stages its changes in Blob Storage and
 * publishes one message per partition at the end, so each partition is read and written once.
 */
export class ChangePublisher {
  readonly #buffer = new Map<string, DirectoryChange[]>();

  constructor(
    private readonly tenantId: string,
    private readonly queues: QueueGateway,
    private readonly chunkStore: ChunkStore,
    private readonly buckets: number,
    /** Where every published message is recorded first, so the watchdog can publish it again. */
    private readonly registry: PublishedChunks,
    /** Checked before anything is published: a fetcher that lost its lease publishes nothing. */
    private readonly assertHeld: () => void = () => undefined,
    /** The lease epoch, in every blob name: a stale fetcher cannot overwrite its successor's blobs. */
    private readonly epoch = 0,
  ) {}

  async #put(name: string, changes: readonly DirectoryChange[]): Promise<void> {
    this.assertHeld();
    await this.chunkStore.put(name, changes);
  }

  /**
   * Records the messages, lets `recorded` see them recorded (the fetcher's checkpoint, past them), then
   * sends them: a message recorded past its round's checkpoint was never sent.
   */
  async #send(ref: RunRef, messages: DirectoryChunk[], recorded: () => Promise<void>): Promise<void> {
    if (messages.length === 0) return;
    this.assertHeld();
    await this.registry.recordPublished(ref, messages);
    this.assertHeld();
    await recorded();
    this.assertHeld();
    await this.queues.sendAll(QUEUES.directoryChanges, messages);
  }

  add(change: DirectoryChange): void {
    const partition = this.partitionOf(change);
    const list = this.#buffer.get(partition);
    if (list) list.push(change);
    else this.#buffer.set(partition, [change]);
  }

  get pending(): number {
    let total = 0;
    for (const list of this.#buffer.values()) total += list.length;
    return total;
  }

  partitionOf(change: DirectoryChange): string {
    switch (change.kind) {
      case 'user':
        return `users:${userBucketOf(this.tenantId, change.id, this.buckets)}`;
      case 'edge':
        return change.memberType === 'user'
          ? `users:${userBucketOf(this.tenantId, change.memberId, this.buckets)}`
          : 'groups';
      case 'group':
        return 'groups';
    }
  }

  /**
   * Publishes everything buffered now; returns the next chunk index. With `stagePrefix`, the groups
   * partition is staged there instead (published once, by this call with `publishStaged`: at the end of
   * the round, or of a first round's groups phase; ahead of the users' partitions, with every other
   * partition staged there). `recorded`
   * is called once the messages are recorded and before any is sent, with the next chunk index (the
   * fetcher's checkpoint).
   */
  async publish(
    ref: RunRef,
    firstChunkIndex: number,
    fresh: boolean,
    staging: { stagePrefix: string; flushNo: number; publishStaged: boolean },
    recorded: (nextChunkIndex: number) => Promise<void>,
  ): Promise<number> {
    const drained = this.#drain();
    const groups = drained.find(([partition]) => partition === 'groups');
    if (groups) await this.#put(this.#stagedName(staging.stagePrefix, 'groups', staging.flushNo), groups[1]);
    const messages: DirectoryChunk[] = staging.publishStaged
      ? await this.#stagedMessages(ref, staging.stagePrefix, firstChunkIndex, fresh)
      : [];
    let chunkIndex = firstChunkIndex + messages.length;
    const outgoing = drained.filter(([partition]) => partition !== 'groups');
    // A first round's messages stay one partition each: its flushes carry dozens of users a bucket, and
    // packing them measured no faster (at 20k users without Graph latency, 1-2 s more of host CPU).
    const packed = fresh
      ? outgoing.flatMap(([partition, changes]) => sliced(partition, changes))
      : packPartitions(outgoing);
    for (const { partition, changes } of packed) {
      messages.push(await this.#message(ref, chunkIndex, partition, changes, fresh));
      chunkIndex += 1;
    }
    const next = chunkIndex;
    await this.#send(ref, messages, () => recorded(next));
    return chunkIndex;
  }

  /** Stages everything buffered in Blob Storage under `prefix` (a full round's flush). */
  async stage(prefix: string, flushNo: number): Promise<void> {
    await Promise.all(
      this.#drain().map(([partition, changes]) =>
        this.#put(this.#stagedName(prefix, partition, flushNo), changes),
      ),
    );
  }

  /** A flush's staged blob of one partition (the lease epoch in it: see the constructor). */
  #stagedName(prefix: string, partition: string, flushNo: number): string {
    return `${prefix}${partition}/${String(flushNo).padStart(6, '0')}-e${this.epoch}.json`;
  }

  async #stagedMessages(
    ref: RunRef,
    prefix: string,
    firstChunkIndex: number,
    fresh: boolean,
  ): Promise<DirectoryChunk[]> {
    const byPartition = new Map<string, string[]>();
    for (const name of await this.chunkStore.list(prefix)) {
      const partition = name.slice(prefix.length, name.lastIndexOf('/'));
      byPartition.set(partition, [...(byPartition.get(partition) ?? []), name]);
    }
    let chunkIndex = firstChunkIndex;
    return [...byPartition.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([partition, blobNames]) => ({ ...this.#header(ref, chunkIndex++, partition, fresh), blobNames }));
  }

  #drain(): [string, DirectoryChange[]][] {
    const entries = [...this.#buffer.entries()].sort(([a], [b]) => a.localeCompare(b));
    this.#buffer.clear();
    return entries;
  }

  async #message(
    ref: RunRef,
    chunkIndex: number,
    partition: string,
    changes: DirectoryChange[],
    fresh: boolean,
  ): Promise<DirectoryChunk> {
    const header = this.#header(ref, chunkIndex, partition, fresh);
    const payload = chunkPayload(header, changes);
    if (!('claimCheck' in payload)) return { ...header, ...payload } as DirectoryChunk;
    const blobName = `${claimCheckPrefix(ref)}${chunkIndex}-e${this.epoch}.json`;
    await this.#put(blobName, changes);
    return { ...header, blobNames: [blobName] };
  }

  /** What every chunk message says besides its changes (the bucket count it was cut under included). */
  #header(ref: RunRef, chunkIndex: number, partition: string, fresh: boolean): DirectoryChunk {
    // The run's three fields, not the whole of what the caller passed (the fetcher passes its round).
    const { tenantId, runId, runKey } = ref;
    return {
      type: 'directory-chunk',
      tenantId,
      runId,
      runKey,
      chunkIndex,
      partition,
      fresh,
      buckets: this.buckets,
    };
  }
}
