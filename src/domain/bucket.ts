/**
 * Decides which partition an object lives in: `tenantId|bucket`, the bucket a stable hash of the
 * object id, so a tenant spreads over many partitions and a chunk of changes maps to one partition.
 */
import { personIdFor } from './person-id.js';

export const DEFAULT_BUCKETS = 64;

/** FNV-1a 32-bit over the lower-cased id: stable across processes and releases. */
export function bucketOf(objectId: string, buckets: number = DEFAULT_BUCKETS): number {
  let hash = 0x811c9dc5;
  const id = objectId.toLowerCase();
  for (let i = 0; i < id.length; i += 1) {
    hash ^= id.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % buckets;
}

export function bucketPartition(tenantId: string, bucket: number): string {
  return `${tenantId}|${bucket.toString().padStart(2, '0')}`;
}

export function partitionOf(tenantId: string, objectId: string, buckets: number = DEFAULT_BUCKETS): string {
  return bucketPartition(tenantId, bucketOf(objectId, buckets));
}

/**
 * The bucket count is part of where a tenant's rows live, so it is fixed by the tenant's first round: a
 * round (or an API call) under another count would look for every row in another partition and create
 * it again. The reason it is refused (undefined when it may run; `recorded` null: no round yet).
 */
export function bucketCountProblem(recorded: number | null, configured: number): string | undefined {
  if (recorded === null || recorded === configured) return undefined;
  return (
    `SYNC_BUCKETS is ${configured}, but this tenant's rows are partitioned in ${recorded} buckets ` +
    `(the count of its first round): set SYNC_BUCKETS back to ${recorded}`
  );
}

/** The PartitionKey range `[from, to)` that holds every bucket of a tenant. */
export function tenantPartitionRange(tenantId: string): { from: string; to: string } {
  return { from: `${tenantId}|`, to: `${tenantId}}` };
}

/**
 * A person's bucket is that of its id, and an Entra user's is that of the person id derived from it
 * (person-id.ts): a user's mirror row and its person's row share a partition, and a person made by
 * the app (or matched to a user later) is found from its id alone.
 */
export function personBucketOf(personId: string, buckets: number = DEFAULT_BUCKETS): number {
  return bucketOf(personId, buckets);
}

export function userBucketOf(tenantId: string, objectId: string, buckets: number = DEFAULT_BUCKETS): number {
  return bucketOf(personIdFor(tenantId, objectId), buckets);
}
