import { addCounts, type RunState } from '../adapters/storage/run-store.js';
import type { Row } from '../adapters/storage/table-gateway.js';
import { approvedSet } from '../domain/guard.js';
import { personIdFor } from '../domain/person-id.js';
import { DEFAULT_POLICY } from '../domain/policy.js';
import { type ApiResult, ok, refuse } from './api-result.js';
import type { RunRef } from './messages.js';
import { applyHeld, approvedOf, heldChangesOf, runManagers } from './pass-gate.js';
import type { PipelineDeps } from './pipeline-deps.js';
import type { HeldChange } from './project-people.js';

/**
 * An admin's answer to a held run (the deletion guard's or review mode's): approve every held
 * change, or the chosen people's, or reject what is still held. An approval re-plans each approved
 * user from the mirror as it is now and applies that plan (a change that moved since the run is
 * applied as it is now, never stale; one no longer valid applies nothing); what is not approved
 * stays held. Every decision is recorded on the run with who made it and when.
 */
export interface HeldDecision {
  readonly runId: string;
  readonly state: string;
  readonly applied: Record<string, number>;
  readonly stillHeld: number;
}

/** The changes a held run still holds (what no approval applied yet). */
async function stillHeldOf(deps: PipelineDeps, ref: RunRef): Promise<HeldChange[]> {
  const approved = await approvedOf(deps, ref);
  return (await heldChangesOf(deps, ref)).filter((h) => !approved.has(h.userId));
}

async function heldRun(deps: PipelineDeps, tenantId: string, runId: string): Promise<ApiResult<RunRef>> {
  const row = (await deps.runs.list(tenantId, 200)).find((r) => r.runId === runId);
  if (!row) return refuse(404, `no run ${runId} for tenant ${tenantId}`);
  if (row.state !== ('held' satisfies RunState)) {
    return refuse(409, `run ${runId} is ${String(row.state)}, not held`, { details: { state: row.state } });
  }
  return ok({ tenantId, runId, runKey: row.rowKey });
}

export async function approveHeld(
  deps: PipelineDeps,
  tenantId: string,
  runId: string,
  input: { readonly people?: readonly string[]; readonly by: string },
): Promise<ApiResult<HeldDecision>> {
  const found = await heldRun(deps, tenantId, runId);
  if (!found.ok) return found;
  const ref = found.value;
  const remaining = await stillHeldOf(deps, ref);
  const personOf = (h: HeldChange): string => h.personId ?? personIdFor(tenantId, h.userId);
  let chosen: string[] | undefined;
  if (input.people) {
    const byPerson = new Map(remaining.map((h) => [personOf(h), h.userId]));
    const unknown = input.people.filter((id) => !byPerson.has(id));
    if (unknown.length > 0) {
      return refuse(400, 'some people are not held by this run', {
        issues: unknown.map((id) => ({ path: 'people', message: `${id} is not held by run ${runId}` })),
      });
    }
    chosen = input.people.map((id) => byPerson.get(id)!);
  }
  const users = approvedSet(
    remaining.map((h) => h.userId),
    chosen,
  );
  const parts = await deps.runs.listGateParts(ref);
  const step = parts.filter((p) => p.part.startsWith('approval-')).length + 1;
  const connection = await deps.connections.get(tenantId);
  const policy = connection?.settings.policy ?? DEFAULT_POLICY;
  const applied = await applyHeld(deps, ref, users, policy, `a${step}.b`, new Map());
  const at = deps.now().toISOString();
  await deps.runs.recordGatePart(ref, `approval-${String(step).padStart(3, '0')}`, applied, 0, {
    users: JSON.stringify(users),
    by: input.by,
    at,
  });
  await runManagers(deps, { ...ref }, { inFeed: false }).catch(() => undefined);
  const stillHeld = remaining.length - users.length;
  const row = await deps.runs.update(ref, (current) => {
    if (current.state !== ('held' satisfies RunState)) return undefined;
    const next: Row = { ...current, approvedBy: input.by, approvedAt: at };
    addCounts(next, applied);
    if (stillHeld === 0) {
      next.state = (Number(next.errors) > 0 ? 'completed-with-errors' : 'completed') satisfies RunState;
      next.endedAt = at;
    }
    return next;
  });
  return ok({ runId, state: typeof row?.state === 'string' ? row.state : '', applied, stillHeld });
}

export async function rejectHeld(
  deps: PipelineDeps,
  tenantId: string,
  runId: string,
  by: string,
): Promise<ApiResult<HeldDecision>> {
  const found = await heldRun(deps, tenantId, runId);
  if (!found.ok) return found;
  const ref = found.value;
  const dropped = (await stillHeldOf(deps, ref)).length;
  const at = deps.now().toISOString();
  const row = await deps.runs.update(ref, (current) =>
    current.state !== ('held' satisfies RunState)
      ? undefined
      : {
          ...current,
          state: 'rejected' satisfies RunState,
          rejectedBy: by,
          rejectedAt: at,
          endedAt: at,
          rejected: dropped,
        },
  );
  return ok({ runId, state: typeof row?.state === 'string' ? row.state : '', applied: {}, stillHeld: 0 });
}

/**
 * Held changes never expire silently: a run held past the policy's lifetime ends `expired`, and the
 * tenant is re-projected, so the next run plans those people again from the mirror.
 */
export async function expireHeldRuns(
  deps: PipelineDeps,
  tenantId: string,
  lifetimeDays: number,
): Promise<number> {
  const now = deps.now();
  let expired = 0;
  for (const row of await deps.runs.list(tenantId, 50)) {
    if (row.state !== ('held' satisfies RunState)) continue;
    const since = Date.parse(String(row.endedAt || row.startedAt));
    if (!(now.getTime() - since > lifetimeDays * 86_400_000)) continue;
    const ref: RunRef = { tenantId, runId: String(row.runId), runKey: row.rowKey };
    const done = await deps.runs.transition(ref, (current) =>
      current.state !== ('held' satisfies RunState)
        ? undefined
        : { ...current, state: 'expired' satisfies RunState, expiredAt: now.toISOString() },
    );
    if (done) expired += 1;
  }
  return expired;
}
