import { usesSecurityAttributes } from '../domain/mirrored-properties.js';
import { nextDueAfter } from '../domain/schedule.js';
import { requestPhotoPass } from './photo-pass.js';
import type { PipelineDeps } from './pipeline-deps.js';
import { requestSecurityAttributePass, securityPassDue } from './read-security-attributes.js';

/**
 * The passes' scheduler: a photo pass for each connection whose `policy.photos.schedule` is due (the
 * due time kept in `syncState`, requested before it is moved, so a crash asks twice rather than
 * never), and a custom-security-attribute pass for each scheduled connection that maps them and was
 * last asked more than SECURITY_ATTRIBUTES_MAX_AGE_HOURS ago.
 */
export async function requestDuePasses(
  deps: PipelineDeps,
): Promise<{ photos: string[]; securityAttributes: string[] }> {
  const now = deps.now();
  const photos: string[] = [];
  const securityAttributes: string[] = [];
  for (const connection of await deps.connections.list()) {
    const { tenantId, enabled, policy, schedule } = connection.settings;
    if (!enabled) continue;
    const photoSchedule = policy.photos.enabled ? policy.photos.schedule : null;
    if (photoSchedule) {
      const due = await deps.passState.photoDue(tenantId);
      if (due.nextDueAt === '') {
        await deps.passState.advancePhotoDue(tenantId, due, nextDueAfter(photoSchedule, now));
      } else if (Date.parse(due.nextDueAt) <= now.getTime()) {
        await requestPhotoPass(deps, tenantId, 'schedule');
        photos.push(tenantId);
        await deps.passState.advancePhotoDue(tenantId, due, nextDueAfter(photoSchedule, now));
      }
    }
    if (schedule.kind !== 'manual' && usesSecurityAttributes(policy)) {
      const state = await deps.passState.securityPass(tenantId);
      if (securityPassDue(state.requestedAt, now)) {
        await requestSecurityAttributePass(deps, tenantId, 'schedule');
        securityAttributes.push(tenantId);
      }
    }
  }
  return { photos, securityAttributes };
}
