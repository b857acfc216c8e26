import type { ChunkStore } from '../adapters/storage/chunk-store.js';
import { MAX_INLINE_PAYLOAD_BYTES, type QueueGateway } from '../adapters/storage/queue-gateway.js';
import { QUEUES } from '../adapters/storage/storage-names.js';
import { bucketOf } from '../domain/bucket.js';
import type { DirectoryChange } from '../domain/directory.js';
import type { DirectoryChunk, RunRef } from './messages.js';

/** Changes per message: a few batch transactions' worth of one partition. */
export const MAX_CHANGES_PER_CHUNK = 500;

/**
 * Regroups a round's changes by partition (a user and its membership edges by the user's bucket,
 * groups together) and publishes them as `directory-changes` messages, one partition each; a payload
 * too large for a queue message goes to Blob Storage and the message carries its name.
 */
export class ChangePublisher {
  readonly #buffer = new Map<string, DirectoryChange[]>();

  constructor(
    private readonly queues: QueueGateway,
    private readonly chunkStore: ChunkStore,
    private readonly buckets: number,
  ) {}

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
        return `users:${bucketOf(change.id, this.buckets)}`;
      case 'edge':
        return `users:${bucketOf(change.memberId, this.buckets)}`;
      case 'group':
        return 'groups';
    }
  }

  /** Publishes everything buffered; returns the next chunk index. */
  async flush(ref: RunRef, firstChunkIndex: number): Promise<number> {
    const messages: DirectoryChunk[] = [];
    let chunkIndex = firstChunkIndex;
    for (const [partition, changes] of [...this.#buffer.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      for (let start = 0; start < changes.length; start += MAX_CHANGES_PER_CHUNK) {
        const slice = changes.slice(start, start + MAX_CHANGES_PER_CHUNK);
        messages.push(await this.#message(ref, chunkIndex, partition, slice));
        chunkIndex += 1;
      }
    }
    await this.queues.sendAll(QUEUES.directoryChanges, messages);
    this.#buffer.clear();
    return chunkIndex;
  }

  async #message(
    ref: RunRef,
    chunkIndex: number,
    partition: string,
    changes: DirectoryChange[],
  ): Promise<DirectoryChunk> {
    const inline: DirectoryChunk = {
      type: 'directory-chunk',
      ...ref,
      chunkIndex,
      partition,
      changes: changes as DirectoryChunk['changes'],
    };
    if (Buffer.byteLength(JSON.stringify(inline), 'utf8') <= MAX_INLINE_PAYLOAD_BYTES) return inline;
    const blobName = `chunks/${ref.tenantId}/${ref.runId}/${chunkIndex}.json`;
    await this.chunkStore.put(blobName, changes);
    return { type: 'directory-chunk', ...ref, chunkIndex, partition, blobName };
  }
}
