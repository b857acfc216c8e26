import type { Dispute } from '../adapters/storage/dispute-store.js';
import type { ApiDeps } from './api-deps.js';
import { type ApiResult, ok, refuse } from './api-result.js';
import { requestReproject } from './request-sync.js';

/**
 * Disputes (GET …/disputes, POST …/disputes/{id}): an Entra user whose email matched two or more
 * people made by hand is linked to none until an admin says which (`link`) or that it is someone new
 * (`create`). Resolving asks for a re-projection; the planner applies the resolution.
 */
export type DisputeAction =
  { readonly action: 'link'; readonly personId: string } | { readonly action: 'create' };

export async function listDisputes(
  deps: ApiDeps,
  tenantId: string,
  state: Dispute['state'] | undefined,
): Promise<ApiResult<{ disputes: Dispute[] }>> {
  const disputes = await deps.disputes.list(tenantId);
  return ok({
    disputes: disputes
      .filter((d) => state === undefined || d.state === state)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.id.localeCompare(b.id)),
  });
}

export async function resolveDispute(
  deps: ApiDeps,
  tenantId: string,
  id: string,
  action: DisputeAction,
): Promise<ApiResult<Dispute>> {
  const stored = await deps.disputes.get(tenantId, id);
  if (!stored) return refuse(404, `no dispute ${id}`);
  const { dispute } = stored;
  if (dispute.state === 'resolved') {
    return refuse(409, `dispute ${id} is already resolved`, { details: { resolution: dispute.resolution } });
  }
  if (action.action === 'link' && !dispute.candidates.includes(action.personId)) {
    return refuse(400, 'invalid body', {
      issues: [
        { path: 'personId', message: `not a candidate of dispute ${id} (${dispute.candidates.join(', ')})` },
      ],
    });
  }
  const resolvedAt = deps.pipeline.now().toISOString();
  const resolved: Dispute = {
    ...dispute,
    state: 'resolved',
    resolution:
      action.action === 'link'
        ? { action: 'link', personId: action.personId, resolvedAt }
        : { action: 'create', resolvedAt },
  };
  if (!(await deps.disputes.replaceIfMatch(tenantId, resolved, stored.etag ?? '*'))) {
    return refuse(409, `dispute ${id} changed while it was resolved; read it again`);
  }
  await requestReproject(deps.pipeline, tenantId);
  return ok(resolved);
}
