import { personFromRow, personToRow } from '../adapters/storage/directory-rows.js';
import type { ManagerEntry } from '../adapters/storage/manager-index.js';
import { withPartitionLock } from '../adapters/storage/partition-lock.js';
import type { RunError } from '../adapters/storage/run-store.js';
import { TABLES } from '../adapters/storage/storage-names.js';
import { bucketPartition, personBucketOf, userBucketOf } from '../domain/bucket.js';
import { type ManagerFacts, type ManagerLink, resolveManagers } from '../domain/managers.js';
import { HISTORY_ON_ROW } from '../domain/person.js';
import { flushEvents, personChange, recoverOutboxes, replayedRow } from './event-outbox.js';
import type { RunRef } from './messages.js';
import type { PipelineDeps } from './pipeline-deps.js';
import { managerEntryOf } from './project-people.js';

/**
 * The managers rule over the whole directory, once a run's changes are in: a person's manager is
 * linked to the manager's own person only when that person is in the directory; a missing manager,
 * a manager out of scope and a cycle are each the person's problem, reported in the run when it
 * appears (`manager-missing`, `manager-out-of-scope`, `manager-cycle`), never a crash. It reads the
 * managers index (64 small blobs, manager-index.ts), not the people table; the planner links
 * managers as Entra names them, and this pass corrects only what differs, bucket by bucket under each
 * lock, so a sync whose managers are all in the directory writes nothing here.
 */
export async function linkManagers(
  deps: PipelineDeps,
  ref: RunRef,
): Promise<{ updated: number; errors: RunError[] }> {
  const { tenantId } = ref;
  const indexed = await deps.managerIndex.readAll(tenantId, deps.buckets);
  const facts = new Map<string, ManagerFacts>();
  for (const [userId, { entry }] of indexed) {
    facts.set(userId, { userId, personId: entry[0], inDirectory: entry[1] === 1, managerUserId: entry[2] });
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
  const corrections = new Map<number, { userId: string; link: ManagerLink }[]>();
  for (const [userId, link] of links) {
    const found = indexed.get(userId);
    if (!found) continue;
    const [, , , managerId, problem] = found.entry;
    if (managerId === link.managerPersonId && problem === link.problem) continue;
    const list = corrections.get(found.bucket) ?? [];
    list.push({ userId, link });
    corrections.set(found.bucket, list);
  }
  const errors: RunError[] = [];
  let updated = 0;
  for (const [bucket, list] of corrections) {
    await withPartitionLock(deps.tables, tenantId, `users:${bucket}`, async (lease) => {
      const changes = new Map<string, ManagerEntry | null>();
      for (const { userId, link } of list) {
        const written = await correct(deps, ref, userId, indexed.get(userId)!.entry, link, errors);
        if (written !== undefined) changes.set(userId, written);
        if (written && written[3] === link.managerPersonId) updated += 1;
      }
      lease.assertHeld();
      await deps.managerIndex.update(tenantId, bucket, changes);
    });
  }
  return { updated, errors };
}

/** Writes one person's corrected manager link (ETag'd); answers its index entry as it now is. */
async function correct(
  deps: PipelineDeps,
  ref: RunRef,
  userId: string,
  entry: ManagerEntry,
  link: ManagerLink,
  errors: RunError[],
): Promise<ManagerEntry | null | undefined> {
  const { tenantId } = ref;
  const personId = entry[0];
  const pk = bucketPartition(tenantId, personBucketOf(personId, deps.buckets));
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const full = await deps.tables.get(TABLES.people, pk, personId);
    if (!full) return null;
    const { person, etag } = personFromRow(full);
    if (person.sourceObjectId !== userId) return null;
    if (person.managerId === link.managerPersonId && person.managerProblem === link.problem) {
      // Corrected already, maybe by this very run before a crash: its event reaches the feed once.
      const replayed = replayedRow(full, ref.runId);
      if (replayed) await recoverOutboxes(deps.tables, TABLES.people, tenantId, deps.buckets, [replayed]);
      return managerEntryOf(person, userId);
    }
    const now = deps.now().toISOString();
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
      await deps.tables.replaceIfMatch(TABLES.people, { ...personToRow(pk, next), ...change.columns }, etag!);
      await flushEvents(deps.tables, tenantId, deps.buckets, change.events);
      if (link.problem && person.managerProblem !== link.problem) {
        errors.push({
          category: link.problem,
          objectId: userId,
          message: describe(link.problem, person.entraManagerId),
          source: 'managers',
        });
      }
      return managerEntryOf(next, userId);
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 412) throw error;
    }
  }
  return undefined;
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
