import type { BlobServiceClient, ContainerClient } from '@azure/storage-blob';

import { forEachConcurrently } from '../../shared/concurrency.js';
import { downloadBlob, downloadTagged } from './blob-content.js';
import { type ContainerName, CONTAINERS } from './storage-names.js';

/**
 * Claim check: a payload too large for a queue message is stored as a blob and the message carries
 * its name. Also keeps a full round's "seen" id lists, so a resumed round can still find vanished objects.
 */
export class ChunkStore {
  readonly #container: ContainerClient;

  /** `container`: change chunks by default; the same JSON blob store serves the runs' change sets. */
  constructor(service: BlobServiceClient, container: ContainerName = CONTAINERS.changeChunks) {
    this.#container = service.getContainerClient(container);
  }

  async createContainer(): Promise<void> {
    await this.#container.createIfNotExists();
  }

  /**
   * Writes the payload as JSON; answers the blob's new ETag. `ifMatch`: only over the blob with that
   * ETag, or, for null, only where no blob exists; otherwise Blob Storage refuses with 412 or 409.
   */
  async put(name: string, payload: unknown, ifMatch?: string | null): Promise<string> {
    const body = Buffer.from(JSON.stringify(payload), 'utf8');
    const response = await this.#container.getBlockBlobClient(name).uploadData(body, {
      blobHTTPHeaders: { blobContentType: 'application/json' },
      ...(ifMatch === undefined ? {} : { conditions: ifMatch === null ? { ifNoneMatch: '*' } : { ifMatch } }),
    });
    return response.etag ?? '';
  }

  async get(name: string): Promise<unknown> {
    const content = await downloadBlob(this.#container.getBlockBlobClient(name));
    return JSON.parse(content.toString('utf8')) as unknown;
  }

  /**
   * The payload with its ETag; 'unchanged' when the blob still has the ETag `known` (nothing is sent);
   * undefined when there is no such blob.
   */
  async findTagged(
    name: string,
    known?: string,
  ): Promise<{ payload: unknown; etag: string } | 'unchanged' | undefined> {
    try {
      const found = await downloadTagged(this.#container.getBlockBlobClient(name), known);
      if (found === 'unchanged') return found;
      return { payload: JSON.parse(found.content.toString('utf8')) as unknown, etag: found.etag };
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return undefined;
      throw error;
    }
  }

  /** The blobs under `prefix` with their ETags (one listing: nothing is downloaded). */
  async listTagged(prefix: string): Promise<Map<string, string>> {
    const tagged = new Map<string, string>();
    for await (const blob of this.#container.listBlobsFlat({ prefix }))
      tagged.set(blob.name, blob.properties.etag ?? '');
    return tagged;
  }

  async list(prefix: string): Promise<string[]> {
    return [...(await this.listTagged(prefix)).keys()].sort();
  }

  /** Deletes every blob under `prefix`, a few at a time. */
  async deletePrefix(prefix: string, concurrency = 16): Promise<void> {
    await forEachConcurrently(await this.list(prefix), concurrency, async (name) => {
      await this.#container.getBlockBlobClient(name).deleteIfExists();
    });
  }
}
