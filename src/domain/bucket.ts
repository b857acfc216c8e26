/**
 * Decides which partition an object lives in: `tenantId|bucket`, the bucket a stable hash of the
 * object id, so a tenant spreads over many partitions and a chunk of changes maps to one partition.
 */
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

/** The PartitionKey range `[from, to)` that holds every bucket of a tenant. */
export function tenantPartitionRange(tenantId: string): { from: string; to: string } {
  return { from: `${tenantId}|`, to: `${tenantId}}` };
}
