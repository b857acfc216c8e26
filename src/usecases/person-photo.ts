import { bucketPartition, personBucketOf } from '../domain/bucket.js';
import type { ApiRefusal } from './api-result.js';
import type { PipelineDeps } from './pipeline-deps.js';
import { resolveAppTenant } from './resolve-tenant.js';

export type PersonPhotoAnswer =
  | { readonly kind: 'photo'; readonly content: Buffer; readonly contentType: string; readonly etag: string }
  | { readonly kind: 'not-found'; readonly reason: string }
  | { readonly kind: 'refused'; readonly refusal: ApiRefusal };

/**
 * A person's stored photo, in the tenant the app-side routes work on (resolve-tenant.ts: the one named,
 * or the only connection).
 */
export async function personPhoto(
  deps: PipelineDeps,
  personId: string,
  tenantId: string | undefined,
): Promise<PersonPhotoAnswer> {
  const resolved = await resolveAppTenant(deps, tenantId);
  if (!resolved.ok) return { kind: 'refused', refusal: resolved };
  const tenant = resolved.value;
  const partitionKey = bucketPartition(tenant, personBucketOf(personId.toLowerCase(), deps.buckets));
  const photo = await deps.photoStore.read(tenant, personId.toLowerCase(), partitionKey);
  if (!photo) return { kind: 'not-found', reason: `person ${personId} has no photo` };
  return { kind: 'photo', content: photo.content, contentType: photo.contentType, etag: photo.mediaEtag };
}
