import { z } from 'zod';

import { userBucketOf } from '../domain/bucket.js';
import { DEFAULT_POLICY } from '../domain/policy.js';
import { linkManagers } from './link-managers.js';
import type { RunRef } from './messages.js';
import type { PipelineDeps } from './pipeline-deps.js';
import { applyUserBucket } from './reconcile-chunk.js';
import { heldChangesPrefix } from './run-blobs.js';

/**
 * The gate, once every chunk of the run is applied (so the run's whole change set is known): it
 * decides over the change set what may be applied of what the planner held (the changes that take
 * people out of the directory). Today it lets everything through; the decision is recorded on the
 * run. Then it applies what it let through (each held user re-planned from the mirror as it is now,
 * destructive changes allowed, bucket by bucket under each lock), and the managers rule links every
 * person's manager over the whole directory. Idempotent: a gate redone after a crash re-plans what
 * is still to do and reports the counts decided the first time.
 */
export async function passGate(deps: PipelineDeps, ref: RunRef, changed: boolean): Promise<void> {
  const held = new Map<number, Set<string>>();
  let total = 0;
  for (const name of await deps.changeSets.list(heldChangesPrefix(ref))) {
    const ids = z.array(z.string()).parse(await deps.changeSets.get(name));
    for (const id of ids) {
      const bucket = userBucketOf(ref.tenantId, id, deps.buckets);
      const set = held.get(bucket) ?? new Set<string>();
      if (!set.has(id)) total += 1;
      held.set(bucket, set.add(id));
    }
  }
  const parts = new Map((await deps.runs.listGateParts(ref)).map((p) => [p.part, p]));
  if (!parts.has('decision')) {
    await deps.runs.recordGatePart(ref, 'decision', {}, 0, { decision: 'passed', held: total });
  }
  if (total > 0) {
    const connection = await deps.connections.get(ref.tenantId);
    const policy = connection?.settings.policy ?? DEFAULT_POLICY;
    for (const [bucket, ids] of held) {
      const part = `b${String(bucket).padStart(2, '0')}`;
      await applyUserBucket(
        deps.tables,
        {
          tenantId: ref.tenantId,
          runId: ref.runId,
          bucket,
          buckets: deps.buckets,
          changes: [],
          now: deps.now().toISOString(),
          source: 'gate',
          fresh: false,
          settledRound: await deps.settled.get(ref.tenantId),
          replan: [...ids],
          allowDestructive: true,
          sources: async () => ({ policy, groups: await deps.groupGraph.load(ref.tenantId) }),
        },
        async (outcome) => {
          if (parts.has(part)) return;
          await deps.runs.recordErrors(ref, outcome.errors, deps.now().toISOString());
          await deps.runs.recordGatePart(ref, part, outcome.counts, outcome.errors.length);
        },
      );
    }
  }
  if ((changed || total > 0) && !parts.has('managers')) {
    const { updated, errors } = await linkManagers(deps, ref);
    await deps.runs.recordErrors(ref, errors, deps.now().toISOString());
    // Links corrected here are not counted as people updated (the person's change of this run is), and
    // a manager out of the directory is a warning on the run, with its line in the run's log, not an error.
    await deps.runs.recordGatePart(ref, 'managers', {}, 0, {
      managerLinks: updated,
      warnings: errors.length,
    });
  }
}
