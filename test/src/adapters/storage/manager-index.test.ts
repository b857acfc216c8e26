/**
 * The managers index on Azurite: each process keeps the buckets it read or wrote with their ETags and
 * fetches a bucket again only when its blob changed, so a whole-index read after a round downloads just
 * the buckets that round wrote, and a write by another process is always seen.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type EmbeddedAzurite, startAzurite } from '../../../../local/azurite/embedded-azurite.js';
import { ChunkStore } from '../../../../src/adapters/storage/chunk-store.js';
import { type ManagerEntry, ManagerIndex } from '../../../../src/adapters/storage/manager-index.js';
import { storageAccountFromConnectionString } from '../../../../src/adapters/storage/storage-account.js';
import { CONTAINERS } from '../../../../src/adapters/storage/storage-names.js';

/** Counts the blobs actually downloaded (a 304 is not one). */
class CountingStore extends ChunkStore {
  downloads = 0;
  /** Every request for a blob, 304s included. */
  asked = 0;

  override async findTagged(name: string, known?: string) {
    this.asked += 1;
    const found = await super.findTagged(name, known);
    if (found !== 'unchanged' && found !== undefined) this.downloads += 1;
    return found;
  }
}

const TENANT = '7d0c5e0e-3b1c-4c3e-9a51-7f0a4b3c2d10';
const BUCKETS = 4;
const entry = (personId: string, manager: string | null = null): ManagerEntry => [
  personId,
  1,
  manager,
  null,
  null,
];
/** The users of every bucket, sorted. */
const usersOf = (buckets: readonly ReadonlyMap<string, ManagerEntry>[]): string[] =>
  buckets.flatMap((entries) => [...entries.keys()]).sort();

describe('the managers index', () => {
  let azurite: EmbeddedAzurite;
  let store: CountingStore;
  let other: ManagerIndex;

  beforeAll(async () => {
    azurite = await startAzurite();
    const account = storageAccountFromConnectionString(azurite.connectionString);
    store = new CountingStore(account.blobService(), CONTAINERS.changeSets);
    await store.createContainer();
    // Another host process: its own index on the same storage.
    other = new ManagerIndex(new ChunkStore(account.blobService(), CONTAINERS.changeSets));
  });
  afterAll(async () => {
    await azurite?.stop();
  });

  it('reads again only the buckets whose blob changed (one listing tells which), and sees what another process wrote', async () => {
    for (let bucket = 0; bucket < BUCKETS; bucket += 1) {
      await other.update(TENANT, bucket, new Map([[`user-${bucket}`, entry(`person-${bucket}`)]]));
    }
    const index = new ManagerIndex(store);
    const first = await index.readAll(TENANT, BUCKETS);
    expect(usersOf(first)).toHaveLength(BUCKETS);
    expect(store.downloads).toBe(BUCKETS);

    // Nothing changed: one listing of the index's blobs says so, and no bucket is asked for.
    const asked = store.asked;
    expect(usersOf(await index.readAll(TENANT, BUCKETS))).toHaveLength(BUCKETS);
    expect(store.downloads).toBe(BUCKETS);
    expect(store.asked).toBe(asked);

    // This process's own write is kept with its new ETag; another process's write is read again.
    await index.update(TENANT, 1, new Map([['user-x', entry('person-x', 'user-1')]]));
    await other.update(TENANT, 2, new Map([['user-2', null]]));
    const after = await index.readAll(TENANT, BUCKETS);
    expect(store.downloads).toBe(BUCKETS + 1);
    expect(usersOf(after)).toEqual(['user-0', 'user-1', 'user-3', 'user-x']);
    expect(after[1]!.get('user-x')).toEqual(entry('person-x', 'user-1'));
    expect([...after[2]!.keys()]).toEqual([]);
  });

  it('hands each reader its own copy of a bucket: changing it changes nothing kept', async () => {
    const index = new ManagerIndex(store);
    const mine = await index.read(TENANT, 0);
    mine.set('user-intruder', entry('person-intruder'));
    mine.delete('user-0');
    expect([...(await index.read(TENANT, 0)).keys()]).toEqual(['user-0']);
  });

  it("keeps another process's entries when two update one bucket at once (neither overwrites the other's write)", async () => {
    const bucket = 3;
    // This process's write waits, after its read, until the other process has written the bucket.
    let release!: () => void;
    const otherWrote = new Promise<void>((resolve) => (release = resolve));
    let paused = false;
    class PausingStore extends ChunkStore {
      override async put(...args: Parameters<ChunkStore['put']>) {
        if (!paused) {
          paused = true;
          await otherWrote;
        }
        return super.put(...args);
      }
    }
    const account = storageAccountFromConnectionString(azurite.connectionString);
    const slow = new ManagerIndex(new PausingStore(account.blobService(), CONTAINERS.changeSets));

    const mine = slow.update(TENANT, bucket, new Map([['user-mine', entry('person-mine')]]));
    while (!paused) await new Promise((resolve) => setTimeout(resolve, 5));
    await other.update(TENANT, bucket, new Map([['user-theirs', entry('person-theirs')]]));
    release();
    await mine;

    const fresh = new ManagerIndex(new ChunkStore(account.blobService(), CONTAINERS.changeSets));
    expect([...(await fresh.read(TENANT, bucket)).keys()].sort()).toEqual([
      'user-3',
      'user-mine',
      'user-theirs',
    ]);
  });

  it('writes over the copy it keeps without asking for the blob first, and re-reads it when another process wrote since', async () => {
    const bucket = 2;
    const index = new ManagerIndex(store);
    await index.read(TENANT, bucket);

    let asked = store.asked;
    await index.update(TENANT, bucket, new Map([['user-kept', entry('person-kept')]]));
    // Its own copy is current: written over its ETag (If-Match) with no read.
    expect(store.asked - asked).toBe(0);

    await other.update(TENANT, bucket, new Map([['user-other', entry('person-other')]]));
    asked = store.asked;
    await index.update(TENANT, bucket, new Map([['user-late', entry('person-late')]]));
    // The kept ETag no longer matches: refused, read again, written again.
    expect(store.asked - asked).toBe(1);
    const fresh = new ManagerIndex(
      new ChunkStore(
        storageAccountFromConnectionString(azurite.connectionString).blobService(),
        CONTAINERS.changeSets,
      ),
    );
    const keys = [...(await fresh.read(TENANT, bucket)).keys()];
    expect(keys).toEqual(expect.arrayContaining(['user-kept', 'user-other', 'user-late']));
  });
});
