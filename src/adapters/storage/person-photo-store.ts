import type { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { z } from 'zod';

import { tenantPartitionRange } from '../../domain/bucket.js';
import { downloadBlob } from './blob-content.js';
import { CONTAINERS, TABLES } from './storage-names.js';
import { isWriteConflict, type Row, statusOf, type TableGateway } from './table-gateway.js';

/** A person the photo pass covers: linked to an Entra user and not removed. */
export interface PhotoCandidate {
  readonly partitionKey: string;
  readonly personId: string;
  readonly objectId: string;
}

/** A person's photo as last downloaded (`personPhotos` row). */
export interface LinkedPhoto {
  readonly partitionKey: string;
  readonly personId: string;
  readonly mediaEtag: string;
  readonly blobName: string;
  readonly contentType: string;
  readonly bytes: number;
  readonly updatedAt: string;
  readonly etag: string;
}

export interface StoredPhoto {
  readonly content: Buffer;
  readonly contentType: string;
  readonly mediaEtag: string;
}

const peopleRowSchema = z.object({
  partitionKey: z.string(),
  rowKey: z.string(),
  sourceObjectId: z.string().nullish(),
  status: z.string().nullish(),
});

const photoRowSchema = z.object({
  partitionKey: z.string(),
  rowKey: z.string(),
  mediaEtag: z.string(),
  blobName: z.string(),
  contentType: z.string(),
  bytes: z.number().int().min(0),
  updatedAt: z.string(),
  etag: z.string(),
});

/**
 * People's photos: the bytes in Blob Storage (container `photos`, one blob per person), linked from
 * the person by a `personPhotos` row beside its people row (same PartitionKey, RowKey = personId)
 * that keeps the media ETag Graph gave, so an unchanged photo is never downloaded again.
 */
export class PersonPhotoStore {
  readonly #container: ContainerClient;

  constructor(
    private readonly tables: TableGateway,
    blobs: BlobServiceClient,
  ) {
    this.#container = blobs.getContainerClient(CONTAINERS.photos);
  }

  /** The tenant's people linked to an Entra user and not removed (four columns read, nothing else). */
  async candidates(tenantId: string): Promise<PhotoCandidate[]> {
    const { from, to } = tenantPartitionRange(tenantId);
    const rows = await this.tables.listPartitionRange(TABLES.people, from, to, [
      'PartitionKey',
      'RowKey',
      'sourceObjectId',
      'status',
    ]);
    const candidates: PhotoCandidate[] = [];
    for (const raw of rows) {
      const row = peopleRowSchema.parse(raw);
      if (!row.sourceObjectId || row.status === 'removed') continue;
      candidates.push({ partitionKey: row.partitionKey, personId: row.rowKey, objectId: row.sourceObjectId });
    }
    return candidates;
  }

  /** Every photo linked in the tenant, by person id. */
  async linked(tenantId: string): Promise<Map<string, LinkedPhoto>> {
    const { from, to } = tenantPartitionRange(tenantId);
    const rows = await this.tables.listPartitionRange(TABLES.personPhotos, from, to);
    return new Map(rows.map((row) => [row.rowKey, linkedFromRow(row)]));
  }

  /**
   * Stores the photo's bytes, then links it (conditional on the row `previous` was read from, or
   * created): false when someone else linked or unlinked it meanwhile (the next pass compares again).
   */
  async link(
    tenantId: string,
    candidate: PhotoCandidate,
    photo: { content: Buffer; contentType: string; mediaEtag: string },
    previous: LinkedPhoto | undefined,
    now: Date,
  ): Promise<boolean> {
    const blobName = photoBlobName(tenantId, candidate.personId);
    await this.#container.getBlockBlobClient(blobName).uploadData(photo.content, {
      blobHTTPHeaders: { blobContentType: photo.contentType },
    });
    const row: Row = {
      partitionKey: candidate.partitionKey,
      rowKey: candidate.personId,
      mediaEtag: photo.mediaEtag,
      blobName,
      contentType: photo.contentType,
      bytes: photo.content.length,
      updatedAt: now.toISOString(),
    };
    if (!previous) return this.tables.createIfAbsent(TABLES.personPhotos, row);
    try {
      await this.tables.replaceIfMatch(TABLES.personPhotos, row, previous.etag);
      return true;
    } catch (error) {
      if (isWriteConflict(error) || statusOf(error) === 404) return false;
      throw error;
    }
  }

  /** Removes the link (conditional on the row read), then the blob. */
  async unlink(photo: LinkedPhoto): Promise<boolean> {
    try {
      await this.tables
        .client(TABLES.personPhotos)
        .deleteEntity(photo.partitionKey, photo.personId, { etag: photo.etag });
      this.tables.meter.count(TABLES.personPhotos, 1, 1);
    } catch (error) {
      if (isWriteConflict(error)) return false;
      if (statusOf(error) !== 404) throw error;
    }
    await this.#container.getBlockBlobClient(photo.blobName).deleteIfExists();
    return true;
  }

  /**
   * A person's photo, found at `partitionKey` (the person's people-row partition) or, when the
   * person is not there, anywhere in the tenant.
   */
  async read(tenantId: string, personId: string, partitionKey: string): Promise<StoredPhoto | undefined> {
    const row =
      (await this.tables.get(TABLES.personPhotos, partitionKey, personId)) ??
      (await this.#findInTenant(tenantId, personId));
    if (!row) return undefined;
    const linked = linkedFromRow(row);
    try {
      const content = await downloadBlob(this.#container.getBlockBlobClient(linked.blobName));
      return { content, contentType: linked.contentType, mediaEtag: linked.mediaEtag };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  async #findInTenant(tenantId: string, personId: string): Promise<Row | undefined> {
    const { from, to } = tenantPartitionRange(tenantId);
    const filter = `PartitionKey ge '${escape(from)}' and PartitionKey lt '${escape(to)}' and RowKey eq '${escape(personId)}'`;
    return (await this.tables.query(TABLES.personPhotos, filter, undefined, 1))[0];
  }

  /** The names of the blobs the tenant's photos are in (tests). */
  async blobNames(tenantId: string): Promise<string[]> {
    const names: string[] = [];
    for await (const blob of this.#container.listBlobsFlat({ prefix: `${tenantId}/` })) names.push(blob.name);
    return names.sort();
  }
}

export function photoBlobName(tenantId: string, personId: string): string {
  return `${tenantId}/${personId}`;
}

function linkedFromRow(row: Row): LinkedPhoto {
  const r = photoRowSchema.parse(row);
  return {
    partitionKey: r.partitionKey,
    personId: r.rowKey,
    mediaEtag: r.mediaEtag,
    blobName: r.blobName,
    contentType: r.contentType,
    bytes: r.bytes,
    updatedAt: r.updatedAt,
    etag: r.etag,
  };
}

function escape(value: string): string {
  return value.replace(/'/g, "''");
}
