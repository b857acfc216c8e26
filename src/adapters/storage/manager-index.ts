import { z } from 'zod';

import { forEachConcurrently } from '../../shared/concurrency.js';
import type { ChunkStore } from './chunk-store.js';
import { isWriteConflict, statusOf } from './table-gateway.js';

/**
 * What the managers rule needs of every linked person, kept per bucket of users in one small blob
 * (`managers/<tenant>/<bucket>.json` in the change-sets container), so the rule reads 64 blobs instead
 * of the whole people table: user id → [person id, in the directory (1/0), Entra's manager (user id),
 * the manager's person linked now, the problem recorded now]. A user the mirror knows without a person
 * (out of scope) is WITHOUT_PERSON, so the rule tells a manager out of scope from a
 * missing one without reading the mirror. Written under the bucket's lock by the
 * chunk that planned those users (after its people writes: a redelivery writes it again), and by the
 * managers rule for the links it corrects.
 */
export const managerEntrySchema = z.tuple([
  z.string(),
  z.union([z.literal(0), z.literal(1)]),
  z.string().nullable(),
  z.string().nullable(),
  z.string().nullable(),
]);
export type ManagerEntry = z.infer<typeof managerEntrySchema>;

/** The problem of an entry whose person the managers rule is correcting (it matches no link). */
export const PENDING = 'pending';

/** The entry of a user the mirror knows without a person (out of scope). */
export const WITHOUT_PERSON: ManagerEntry = ['', 0, null, null, null];

/** A write conflict (409, as a row's create meeting a row that exists): re-read and decide again. */
export class IndexEntryExists extends Error {
  readonly statusCode = 409;
  constructor(tenantId: string, bucket: number, userId: string) {
    super(`managers index ${tenantId}/${bucket}: user ${userId} has an entry already`);
    this.name = 'IndexEntryExists';
  }
}

/**
 * A bucket's blob: its entries as `[user id, entry]` pairs (an array of pairs is written and read back
 * twice as fast as an object keyed by 1,500 user ids).
 */
const indexSchema = z.array(z.tuple([z.string(), managerEntrySchema]));

/** Conditional writes of one bucket's blob that may meet another's before one is given up. */
const WRITE_ATTEMPTS = 6;

/**
 * One instance per process (AppServices): it keeps each bucket's entries as last read or written with
 * the blob's ETag, and reads a bucket again only when its ETag moved (a conditional GET: a bucket
 * nobody wrote since costs a 304 and no parsing), so the managers rule's whole-index read after an
 * incremental round fetches just the buckets that round changed.
 */
export class ManagerIndex {
  readonly #kept = new Map<string, { etag: string; entries: ReadonlyMap<string, ManagerEntry> }>();

  constructor(private readonly blobs: ChunkStore) {}

  static blobName(tenantId: string, bucket: number): string {
    return `${ManagerIndex.prefix(tenantId)}${String(bucket).padStart(2, '0')}.json`;
  }

  static prefix(tenantId: string): string {
    return `managers/${tenantId}/`;
  }

  /** A bucket's entries (the caller's own copy). */
  async read(tenantId: string, bucket: number): Promise<Map<string, ManagerEntry>> {
    return new Map((await this.#tagged(tenantId, bucket)).entries);
  }

  /** A bucket's entries as the blob holds them now (kept ones when its ETag has not moved). */
  async #tagged(
    tenantId: string,
    bucket: number,
  ): Promise<{ etag: string | null; entries: ReadonlyMap<string, ManagerEntry> }> {
    const name = ManagerIndex.blobName(tenantId, bucket);
    const kept = this.#kept.get(name);
    const found = await this.blobs.findTagged(name, kept?.etag);
    if (found === 'unchanged') return kept!;
    if (found === undefined) {
      this.#kept.delete(name);
      return { etag: null, entries: new Map() };
    }
    const read = { etag: found.etag, entries: new Map(indexSchema.parse(found.payload)) };
    this.#kept.set(name, read);
    return read;
  }

  /**
   * Sets (or, for null, removes) these users' entries: change the copy kept (or read), and write only
   * over the blob as that copy was (If-Match), so that a holder that lost the bucket's lock, paused
   * between its read and its write, cannot overwrite the entries another wrote meanwhile: on a
   * conflict it reads and changes again. `onlyNew`: the entries of a first round's chunk, decided
   * assuming nothing exists: like a row's create, they never replace or remove an entry; one already
   * there is an IndexEntryExists conflict, and the chunk is applied again the ordinary way.
   */
  async update(
    tenantId: string,
    bucket: number,
    changes: ReadonlyMap<string, ManagerEntry | null>,
    options: { onlyNew?: boolean } = {},
  ): Promise<void> {
    if (changes.size === 0) return;
    await this.#change(tenantId, bucket, (entries) => {
      let changed = false;
      for (const [userId, entry] of changes) {
        const before = entries.get(userId);
        if (options.onlyNew && before) throw new IndexEntryExists(tenantId, bucket, userId);
        if (entry === null) {
          if (before) changed = entries.delete(userId) || changed;
        } else if (!before || !sameEntry(before, entry)) {
          entries.set(userId, entry);
          changed = true;
        }
      }
      return changed;
    });
  }

  /**
   * Marks these users' entries as being corrected (problem PENDING, the other fields as they are): the
   * managers rule writes this before it writes their people, so that a rule that dies before it writes
   * their entries leaves entries that match no link, and the next pass reads their rows again.
   */
  async markPending(tenantId: string, bucket: number, userIds: readonly string[]): Promise<void> {
    if (userIds.length === 0) return;
    await this.#change(tenantId, bucket, (entries) => {
      let changed = false;
      for (const userId of userIds) {
        const entry = entries.get(userId);
        if (!entry || entry[4] === PENDING) continue;
        entries.set(userId, [entry[0], entry[1], entry[2], entry[3], PENDING]);
        changed = true;
      }
      return changed;
    });
  }

  /**
   * Changes a bucket's entries (`change` answers whether it changed any): change the copy kept (or
   * read), and write only over the blob as that copy was (If-Match); on a conflict read and change again.
   */
  async #change(
    tenantId: string,
    bucket: number,
    change: (entries: Map<string, ManagerEntry>) => boolean,
  ): Promise<void> {
    const name = ManagerIndex.blobName(tenantId, bucket);
    for (let attempt = 1; ; attempt += 1) {
      // The copy this process keeps is written over at once (its ETag is the condition): the blob is
      // written under the bucket's lock, so it is nearly always current; when it is not, the write is
      // refused and the next attempt reads the blob.
      const kept = attempt === 1 ? this.#kept.get(name) : undefined;
      const read = kept ?? (await this.#tagged(tenantId, bucket));
      const entries = new Map(read.entries);
      // Nothing to write against an unread copy is decided again against the blob itself.
      if (!change(entries)) {
        if (kept === undefined) return;
        continue;
      }
      try {
        const etag = await this.blobs.put(name, [...entries], read.etag);
        this.#kept.set(name, { etag, entries });
        return;
      } catch (error) {
        const gone = kept !== undefined && statusOf(error) === 404;
        if (!(isWriteConflict(error) || gone) || attempt >= WRITE_ATTEMPTS) throw error;
      }
    }
  }

  /**
   * Every bucket's entries (the array's index is the bucket), as this process keeps them: read-only,
   * shared, never changed in place (an update keeps a new map). One listing of the index's blobs gives
   * their ETags: only the buckets whose blob moved since this process kept it are downloaded.
   */
  async readAll(tenantId: string, buckets: number): Promise<ReadonlyMap<string, ManagerEntry>[]> {
    const listed = await this.blobs.listTagged(ManagerIndex.prefix(tenantId));
    const all = new Array<ReadonlyMap<string, ManagerEntry>>(buckets).fill(NO_ENTRIES);
    await forEachConcurrently(
      Array.from({ length: buckets }, (_, bucket) => bucket),
      8,
      async (bucket) => {
        const name = ManagerIndex.blobName(tenantId, bucket);
        const etag = listed.get(name);
        const kept = this.#kept.get(name);
        if (etag === undefined) {
          this.#kept.delete(name);
          return;
        }
        all[bucket] =
          kept !== undefined && sameEtag(kept.etag, etag)
            ? kept.entries
            : (await this.#tagged(tenantId, bucket)).entries;
      },
    );
    return all;
  }
}

const NO_ENTRIES: ReadonlyMap<string, ManagerEntry> = new Map();

function sameEntry(a: ManagerEntry, b: ManagerEntry): boolean {
  return a.every((value, i) => value === b[i]);
}

/** ETags as a listing and a download give them (a listing may leave out the quotes). */
function sameEtag(a: string, b: string): boolean {
  return a.replace(/"/g, '') === b.replace(/"/g, '');
}
