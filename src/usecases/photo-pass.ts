import { withPartitionLock } from '../adapters/storage/partition-lock.js';
import type { LinkedPhoto, PhotoCandidate } from '../adapters/storage/person-photo-store.js';
import { QUEUES } from '../adapters/storage/storage-names.js';
import type { PhotoMetadata } from '../ports/directory-source.js';
import { forEachConcurrently } from '../shared/concurrency.js';
import type { PhotoPassRequest } from './messages.js';
import type { Logger, PipelineDeps } from './pipeline-deps.js';

export type PhotoPassResult =
  | { readonly kind: 'skipped'; readonly reason: 'no-connection' | 'photos-disabled' }
  | {
      readonly kind: 'completed';
      readonly people: number;
      /** Photos downloaded (new or changed media ETag). */
      readonly downloaded: number;
      /** Photos unchanged (same media ETag): not downloaded. */
      readonly unchanged: number;
      /** Links (and blobs) removed: the user has no photo any more, or the person left the pass. */
      readonly removed: number;
      /** Links another writer changed meanwhile (left for the next pass). */
      readonly conflicts: number;
      /** Graph requests: `$batch` metadata requests plus downloads. */
      readonly graphRequests: number;
    };

/** Downloads (and blob writes) in flight at once. */
const DOWNLOAD_CONCURRENCY = 8;

/**
 * The photo pass of one tenant: the media ETag of every covered person's photo is read in `$batch`
 * requests (20 a batch) and compared with the one stored with its link; only a new or changed photo
 * is downloaded and stored (Blob Storage, linked from `personPhotos`); a user with no photo any more,
 * or a person no longer covered (removed, or no longer linked to an Entra user), loses its link and
 * blob. One pass per tenant at a time (a lock), so an unchanged tenant costs ceil(n/20) requests and
 * no download.
 */
export async function runPhotoPass(
  deps: PipelineDeps,
  tenantId: string,
  log: Logger,
): Promise<PhotoPassResult> {
  const connection = await deps.connections.get(tenantId);
  if (!connection || !connection.settings.enabled) return { kind: 'skipped', reason: 'no-connection' };
  if (!connection.settings.policy.photos.enabled) return { kind: 'skipped', reason: 'photos-disabled' };
  const source = await deps.photoSourceFor(connection.settings);
  return withPartitionLock(deps.tables, tenantId, 'photos', async (lease) => {
    const [candidates, linked] = await Promise.all([
      deps.photoStore.candidates(tenantId),
      deps.photoStore.linked(tenantId),
    ]);
    const metadata = await source.photoMetadata([...new Set(candidates.map((c) => c.objectId))]);
    const counts = { downloaded: 0, unchanged: 0, removed: 0, conflicts: 0 };
    const covered = new Set(candidates.map((c) => c.personId));
    const unlink = async (photo: LinkedPhoto): Promise<void> => {
      lease.assertHeld();
      if (await deps.photoStore.unlink(photo)) counts.removed += 1;
      else counts.conflicts += 1;
    };
    await forEachConcurrently(candidates, DOWNLOAD_CONCURRENCY, async (candidate) => {
      const previous = linked.get(candidate.personId);
      const current: PhotoMetadata | null = metadata.get(candidate.objectId) ?? null;
      if (current === null) {
        if (previous) await unlink(previous);
        return;
      }
      if (previous?.mediaEtag === current.mediaEtag) {
        counts.unchanged += 1;
        return;
      }
      await download(candidate, current, previous);
    });
    for (const photo of linked.values()) if (!covered.has(photo.personId)) await unlink(photo);
    log.info('photo pass done', { tenantId, people: candidates.length, ...counts });
    return { kind: 'completed', people: candidates.length, ...counts, graphRequests: source.requestCount };

    async function download(
      candidate: PhotoCandidate,
      current: PhotoMetadata,
      previous: LinkedPhoto | undefined,
    ): Promise<void> {
      const content = await source.downloadPhoto(candidate.objectId);
      // The photo was removed between the metadata and the download.
      if (content === null) {
        if (previous) await unlink(previous);
        return;
      }
      counts.downloaded += 1;
      lease.assertHeld();
      const photo = {
        content: content.bytes,
        contentType: content.contentType,
        mediaEtag: current.mediaEtag,
      };
      if (await deps.photoStore.link(tenantId, candidate, photo, previous, deps.now())) return;
      counts.conflicts += 1;
    }
  });
}

/**
 * Asks for a photo pass of the tenant (queue `photo-requests`): called when a full run completes,
 * and by the scheduler when the policy's `photos.schedule` is due.
 */
export async function requestPhotoPass(
  deps: PipelineDeps,
  tenantId: string,
  reason: PhotoPassRequest['reason'] = 'full-run',
): Promise<PhotoPassRequest> {
  const request: PhotoPassRequest = {
    type: 'photo-pass',
    tenantId,
    reason,
    requestedAt: deps.now().toISOString(),
  };
  await deps.queues.send(QUEUES.photoRequests, request);
  return request;
}
