import { bucketPartition, personBucketOf } from '../domain/bucket.js';
import type { PipelineDeps } from './pipeline-deps.js';

export type PersonPhotoAnswer =
  | { readonly kind: 'photo'; readonly content: Buffer; readonly contentType: string; readonly etag: string }
  | { readonly kind: 'not-found'; readonly reason: string }
  | { readonly kind: 'ambiguous-tenant' };

/**
 * A person's stored photo. Without `tenantId`, the only connection's tenant (several connections:
 * the caller must say which).
 */
export async function personPhoto(
  deps: PipelineDeps,
  personId: string,
  tenantId: string | undefined,
): Promise<PersonPhotoAnswer> {
  let tenant = tenantId?.toLowerCase();
  if (tenant === undefined) {
    const connections = await deps.connections.list();
    if (connections.length > 1) return { kind: 'ambiguous-tenant' };
    tenant = connections[0]?.settings.tenantId;
    if (tenant === undefined) return { kind: 'not-found', reason: 'no connection exists' };
  } else if (!(await deps.connections.get(tenant))) {
    return { kind: 'not-found', reason: `no connection for tenant ${tenant}` };
  }
  const partitionKey = bucketPartition(tenant, personBucketOf(personId.toLowerCase(), deps.buckets));
  const photo = await deps.photoStore.read(tenant, personId.toLowerCase(), partitionKey);
  if (!photo) return { kind: 'not-found', reason: `person ${personId} has no photo` };
  return { kind: 'photo', content: photo.content, contentType: photo.contentType, etag: photo.mediaEtag };
}
