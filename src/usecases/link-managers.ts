import { personFromRow, personToRow } from '../adapters/storage/directory-rows.js';
import type { RunError } from '../adapters/storage/run-store.js';
import { TABLES } from '../adapters/storage/storage-names.js';
import type { Row } from '../adapters/storage/table-gateway.js';
import { bucketPartition, tenantPartitionRange, userBucketOf } from '../domain/bucket.js';
import { type ManagerFacts, resolveManagers } from '../domain/managers.js';
import { HISTORY_ON_ROW } from '../domain/person.js';
import { isOutOfDirectory } from '../domain/person-status.js';
import { flushEvents, personChange } from './event-outbox.js';
import type { RunRef } from './messages.js';
import type { PipelineDeps } from './pipeline-deps.js';

/**
 * The managers rule over the whole directory, once a run's changes are in: a person's manager is
 * linked to the manager's own person only when that person is in the directory; a missing manager,
 * a manager out of scope and a cycle are each the person's problem, reported in the run when it
 * appears (`manager-missing`, `manager-out-of-scope`, `manager-cycle`), never a crash. The planner
 * links managers as Entra names them; this pass corrects only what differs, so a sync whose
 * managers are all in the directory writes nothing here.
 */
export async function linkManagers(
  deps: PipelineDeps,
  ref: RunRef,
): Promise<{ updated: number; errors: RunError[] }> {
  const { tenantId } = ref;
  const range = tenantPartitionRange(tenantId);
  const rows = await deps.tables.listPartitionRange(TABLES.people, range.from, range.to, [
    'PartitionKey',
    'RowKey',
    'sourceObjectId',
    'status',
    'managerId',
    'entraManagerId',
    'managerProblem',
  ]);
  const facts = new Map<string, ManagerFacts>();
  const byUser = new Map<string, Row>();
  for (const row of rows) {
    const userId = typeof row.sourceObjectId === 'string' ? row.sourceObjectId : '';
    if (userId === '') continue;
    byUser.set(userId, row);
    const status = String(row.status) as Parameters<typeof isOutOfDirectory>[0];
    facts.set(userId, {
      userId,
      personId: row.rowKey,
      inDirectory: !isOutOfDirectory(status),
      managerUserId:
        typeof row.entraManagerId === 'string' && row.entraManagerId !== '' ? row.entraManagerId : null,
    });
  }
  // A manager Entra still knows but who has no person (out of scope from the start) is out of
  // scope, not missing: the mirror says which.
  const unknown = new Set<string>();
  for (const fact of facts.values()) {
    if (fact.inDirectory && fact.managerUserId && !facts.has(fact.managerUserId))
      unknown.add(fact.managerUserId);
  }
  for (const managerId of unknown) {
    const pk = bucketPartition(tenantId, userBucketOf(tenantId, managerId, deps.buckets));
    const mirror = await deps.tables.get(TABLES.dirUsers, pk, managerId);
    if (mirror && mirror.deleted !== 'hard' && typeof mirror.facts === 'string' && mirror.facts !== '') {
      facts.set(managerId, { userId: managerId, personId: '', inDirectory: false, managerUserId: null });
    }
  }
  const links = resolveManagers(facts.values());
  const errors: RunError[] = [];
  let updated = 0;
  const now = deps.now().toISOString();
  for (const [userId, link] of links) {
    const row = byUser.get(userId);
    if (!row) continue;
    const managerId = link.managerPersonId ?? '';
    const problem = link.problem ?? '';
    if ((row.managerId ?? '') === managerId && (row.managerProblem ?? '') === problem) continue;
    if (link.problem && (row.managerProblem ?? '') !== problem) {
      errors.push({
        category: link.problem,
        objectId: userId,
        message: describe(link.problem, facts.get(userId)?.managerUserId ?? null),
        source: 'managers',
      });
    }
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const full = await deps.tables.get(TABLES.people, row.partitionKey, row.rowKey);
      if (!full) break;
      const { person, etag } = personFromRow(full);
      if (person.sourceObjectId !== userId) break;
      const rule = link.problem
        ? `managers: ${describe(link.problem, person.entraManagerId)}`
        : 'managers: linked to the manager Entra names';
      const next = {
        ...person,
        managerId: link.managerPersonId,
        managerProblem: link.problem,
        updatedAt: now,
        history: [
          ...person.history,
          {
            at: now,
            runId: ref.runId,
            kind: 'updated',
            rule,
            changes: [{ key: 'managerId', from: person.managerId, to: link.managerPersonId }],
          },
        ].slice(-HISTORY_ON_ROW),
      };
      // The app's person.updated (managerId) rides on the row (event-outbox.ts).
      const change = personChange(ref.runId, full, person, next, deps.now());
      try {
        await flushEvents(deps.tables, tenantId, deps.buckets, change.carried);
        await deps.tables.replaceIfMatch(
          TABLES.people,
          { ...personToRow(row.partitionKey, next), ...change.columns },
          etag!,
        );
        await flushEvents(deps.tables, tenantId, deps.buckets, change.events);
        updated += 1;
        break;
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode !== 412) throw error;
      }
    }
  }
  return { updated, errors };
}

function describe(problem: string, managerUserId: string | null): string {
  switch (problem) {
    case 'manager-missing':
      return `the manager Entra names (${managerUserId ?? '?'}) is not in the directory`;
    case 'manager-out-of-scope':
      return `the manager Entra names (${managerUserId ?? '?'}) is out of scope`;
    default:
      return 'the managers form a cycle: not linked';
  }
}
