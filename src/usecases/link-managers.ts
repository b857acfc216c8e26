import { personFromRow, personToRow } from '../adapters/storage/directory-rows.js';
import { type ManagerEntry, WITHOUT_PERSON } from '../adapters/storage/manager-index.js';
import { withPartitionLock } from '../adapters/storage/partition-lock.js';
import type { RunError } from '../adapters/storage/run-store.js';
import { TABLES } from '../adapters/storage/storage-names.js';
import { isWriteConflict, MAX_BATCH, type Row } from '../adapters/storage/table-gateway.js';
import { bucketPartition, personBucketOf } from '../domain/bucket.js';
import { type ManagerFacts, type ManagerLink, resolveManagers } from '../domain/managers.js';
import { HISTORY_ON_ROW, type PersonRecord } from '../domain/person.js';
import { forEachConcurrently } from '../shared/concurrency.js';
import {
  type CarriedOutbox,
  flushCarried,
  flushEvents,
  personChange,
  recoverOutboxes,
  replayedRow,
  type SubjectChange,
} from './event-outbox.js';
import { usersLock } from './feed-writers.js';
import type { RunRef } from './messages.js';
import type { PipelineDeps } from './pipeline-deps.js';
import { managerEntryOf } from './project-people.js';

/** Buckets corrected at once (each under its own lock). */
const BUCKETS_IN_FLIGHT = 16;

/**
 * The managers rule over the whole directory, once a run's changes are in: a person's manager is
 * linked to the manager's own person only when that person is in the directory; a missing manager,
 * a manager out of scope and a cycle are each the person's problem, reported in the run when it
 * appears (`manager-missing`, `manager-out-of-scope`, `manager-cycle`), never a crash. It reads the
 * managers index (64 small blobs, manager-index.ts), not the people table; the planner links
 * managers as Entra names them, and this pass corrects only what differs, a few buckets at a time, each
 * under its lock, so a sync whose managers are all in the directory writes nothing here.
 */
export async function linkManagers(
  deps: PipelineDeps,
  ref: RunRef,
  run: RunOutboxes,
): Promise<{ updated: number; errors: RunError[] }> {
  const { tenantId } = ref;
  const byBucket = await deps.managerIndex.readAll(tenantId, deps.buckets);
  // A user the mirror knows without a person has an entry with no person ('', out of the directory):
  // as someone's manager it is out of scope; one with no entry at all is missing.
  const facts: ManagerFacts[] = [];
  for (const entries of byBucket) {
    for (const [userId, entry] of entries) {
      facts.push({ userId, personId: entry[0], inDirectory: entry[1] === 1, managerUserId: entry[2] });
    }
  }
  const links = resolveManagers(facts);
  const corrections = new Map<number, LinkedCorrection[]>();
  byBucket.forEach((entries, bucket) => {
    for (const [userId, [personId, , , managerId, problem]] of entries) {
      const link = links.get(userId);
      if (!link || (managerId === link.managerPersonId && problem === link.problem)) continue;
      const list = corrections.get(bucket) ?? [];
      list.push({ userId, link, personId });
      corrections.set(bucket, list);
    }
  });
  const errors: RunError[] = [];
  let updated = 0;
  await forEachConcurrently([...corrections], BUCKETS_IN_FLIGHT, async ([bucket, list]) => {
    await withPartitionLock(deps.tables, tenantId, usersLock(bucket), async (lease) => {
      // Should this pass die between its people writes and its index write, the entries it leaves
      // match no link, and the next pass reads those people again (whatever their links are then).
      await deps.managerIndex.markPending(
        tenantId,
        bucket,
        list.map((c) => c.userId),
      );
      const written = await correctBucket(deps, ref, run, list, errors, lease);
      for (const { userId, link } of list) {
        const entry = written.get(userId);
        if (entry && entry[3] === link.managerPersonId) updated += 1;
      }
      lease.assertHeld();
      await deps.managerIndex.update(tenantId, bucket, written);
    });
  });
  return { updated, errors };
}

interface Correction {
  readonly userId: string;
  readonly link: ManagerLink;
}

/** A correction with the person the index links its user to. */
interface LinkedCorrection extends Correction {
  readonly personId: string;
}

/**
 * Writes the corrected manager links of one bucket's users: their people read together, written as
 * ETag'd batch transactions, each batch's events into the feed around it (event-outbox.ts). A batch
 * that meets a concurrent write is redone person by person. Answers each user's index entry as it now
 * is (WITHOUT_PERSON: no person any more; absent: it kept changing under us).
 */
async function correctBucket(
  deps: PipelineDeps,
  ref: RunRef,
  run: RunOutboxes,
  list: readonly LinkedCorrection[],
  errors: RunError[],
  lease: { assertHeld(): void },
): Promise<Map<string, ManagerEntry | null>> {
  const { tenantId } = ref;
  const written = new Map<string, ManagerEntry | null>();
  const byPartition = new Map<string, LinkedCorrection[]>();
  for (const correction of list) {
    const pk = bucketPartition(tenantId, personBucketOf(correction.personId, deps.buckets));
    const items = byPartition.get(pk) ?? [];
    items.push(correction);
    byPartition.set(pk, items);
  }
  for (const [pk, items] of byPartition) {
    const rows = await deps.tables.readRows(
      TABLES.people,
      pk,
      items.map((i) => i.personId),
    );
    const planned: Planned[] = [];
    for (const correction of items) {
      const step = planCorrection(ref, run, correction, rows.get(correction.personId), deps.now());
      if (step.kind === 'settled') {
        written.set(correction.userId, step.entry);
        if (step.replayed)
          await recoverOutboxes(deps.tables, TABLES.people, ref, deps.buckets, [step.replayed]);
      } else planned.push(step);
    }
    for (let i = 0; i < planned.length; i += MAX_BATCH) {
      const batch = planned.slice(i, i + MAX_BATCH);
      lease.assertHeld();
      await flushCarried(
        deps.tables,
        tenantId,
        deps.buckets,
        batch.map((p) => p.change.carried),
      );
      try {
        await deps.tables.transact(
          TABLES.people,
          batch.map((p) => ['update', p.row, 'Replace', { etag: p.etag }]),
        );
      } catch (error) {
        if (!isWriteConflict(error)) throw error;
        // Someone wrote one of these people meanwhile: each is read and decided again on its own.
        for (const p of batch) {
          const entry = await correctOne(deps, ref, run, p.correction, p.row, errors);
          if (entry !== undefined) written.set(p.correction.userId, entry);
        }
        continue;
      }
      await flushEvents(
        deps.tables,
        tenantId,
        deps.buckets,
        batch.flatMap((p) => p.change.events),
      );
      for (const p of batch) {
        written.set(p.correction.userId, p.entry);
        if (p.problem) errors.push(p.problem);
      }
    }
  }
  return written;
}

type Planned = Extract<ReturnType<typeof planCorrection>, { kind: 'write' }>;

/** What correcting one person's manager link takes: nothing (settled), or its row to write. */
function planCorrection(
  ref: RunRef,
  run: RunOutboxes,
  { userId, link }: Correction,
  full: Row | undefined,
  at: Date,
):
  | { kind: 'settled'; entry: ManagerEntry | null; replayed?: Row }
  | {
      kind: 'write';
      correction: Correction;
      row: Row;
      etag: string;
      change: SubjectChange;
      entry: ManagerEntry | null;
      problem?: RunError;
    } {
  // Its person is gone (or linked to another user) since the index was written: the user stays known,
  // without a person, until its bucket plans it again.
  if (!full) return { kind: 'settled', entry: WITHOUT_PERSON };
  const { person, etag } = personFromRow(full);
  if (person.sourceObjectId !== userId) return { kind: 'settled', entry: WITHOUT_PERSON };
  if (person.managerId === link.managerPersonId && person.managerProblem === link.problem) {
    // Corrected already, maybe by this very run before a crash: its event reaches the feed once.
    const replayed = replayedRow(full);
    return { kind: 'settled', entry: managerEntryOf(person, userId), ...(replayed ? { replayed } : {}) };
  }
  const now = at.toISOString();
  const rule = link.problem
    ? `${MANAGERS_RULE} ${describe(link.problem, person.entraManagerId)}`
    : `${MANAGERS_RULE} linked to the manager Entra names`;
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
  const change = personChange(ref.runId, full, person, next, at);
  return {
    kind: 'write',
    correction: { userId, link },
    row: { ...personToRow(full.partitionKey, next), ...change.columns },
    etag: etag!,
    change: { ...change, carried: stillToCarry(ref.runId, run, person, change.carried) },
    entry: managerEntryOf(next, userId),
    ...(link.problem && person.managerProblem !== link.problem
      ? {
          problem: {
            category: link.problem,
            objectId: userId,
            message: describe(link.problem, person.entraManagerId),
            source: 'managers',
          },
        }
      : {}),
  };
}

/** How the history entries of this pass's corrections begin. */
const MANAGERS_RULE = 'managers:';

/** Whether every outbox the run's chunks wrote is in the feed (see stillToCarry). */
export interface RunOutboxes {
  /**
   * True when the pass runs after every chunk of its run reported without an error: each chunk put its
   * events into the feed before it reported, but one given up (lost, poisoned) may have stopped between
   * a person's write and the feed's, and it reports an error (as may others; then this is false).
   */
  readonly inFeed: boolean;
}

/**
 * The previous outbox a correction writes into the feed again before it writes (event-outbox.ts).
 * When the run's chunks all put their events into the feed, and the gate's let-through did too (before
 * this pass), an outbox of this very run is there already, unless this pass wrote it, in an attempt
 * that stopped before the feed's write: the row's last history entry is then this pass's, of this run.
 * So in a first sync, where the run just created every person it corrects, the creation's events are
 * not written a second time.
 */
function stillToCarry(
  runId: string,
  run: RunOutboxes,
  person: PersonRecord,
  carried: CarriedOutbox,
): CarriedOutbox {
  if (!run.inFeed || carried.runId !== runId) return carried;
  const last = person.history.at(-1);
  const byThisPass = last?.runId === runId && last.rule.startsWith(MANAGERS_RULE);
  return byThisPass ? carried : { ...carried, events: [] };
}

/** One person's correction, read and written on its own (ETag'd, a few tries). */
async function correctOne(
  deps: PipelineDeps,
  ref: RunRef,
  run: RunOutboxes,
  correction: Correction,
  person: { partitionKey: string; rowKey: string },
  errors: RunError[],
): Promise<ManagerEntry | null | undefined> {
  const { tenantId } = ref;
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const full = await deps.tables.get(TABLES.people, person.partitionKey, person.rowKey);
    const step = planCorrection(ref, run, correction, full, deps.now());
    if (step.kind === 'settled') {
      if (step.replayed)
        await recoverOutboxes(deps.tables, TABLES.people, ref, deps.buckets, [step.replayed]);
      return step.entry;
    }
    try {
      await flushCarried(deps.tables, tenantId, deps.buckets, [step.change.carried]);
      await deps.tables.replaceIfMatch(TABLES.people, step.row, step.etag);
      await flushEvents(deps.tables, tenantId, deps.buckets, step.change.events);
      if (step.problem) errors.push(step.problem);
      return step.entry;
    } catch (error) {
      if (!isWriteConflict(error)) throw error;
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
