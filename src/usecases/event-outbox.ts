import { EventStore, outboxColumns, outboxOf } from '../adapters/storage/event-store.js';
import { RunStore } from '../adapters/storage/run-store.js';
import type { TableName } from '../adapters/storage/storage-names.js';
import type { Row, TableGateway } from '../adapters/storage/table-gateway.js';
import type { PersonRecord } from '../domain/person.js';
import {
  changeTime,
  type FeedEvent,
  feedEventsOf,
  feedKey,
  personEvents,
  teamEvents,
  type TeamView,
} from '../domain/person-events.js';

/**
 * Exactly one event per applied change, through an outbox on the changed row itself:
 *
 * 1. A change's events (person-events.ts, from the row before and the record after) get the
 *    subject's next sequence numbers and the change's time, and are written ON the subject's row
 *    (`eventSeq`, `eventAt`, `outbox`) in the same ETag'd write as the change: the change and its
 *    events are one atomic write, or neither is.
 * 2. Right after the subject writes, the events are upserted into the feed under deterministic keys
 *    (`<time>_<subject>_<seq>`), so writing them again writes the same rows.
 * 3. A crash between 1 and 2 leaves the events on the row: the chunk is redelivered (it had not
 *    marked itself applied), plans the same users, finds them already written (`unchanged`: no new
 *    event), and for the rows whose outbox this run wrote (`replayedRow`) looks the events up in the
 *    feed (`recoverOutboxes`): those missing get a new time (the subject's sequence numbers stay, so
 *    do their ids), the row's outbox is updated to the new keys (ETag'd), then they are written: a
 *    reader whose cursor passed the crash still sees them after it, and a second redo finds them. Any
 *    later round that finds the subject unchanged does the same for an outbox of a run that ended
 *    without completing (its chunk was given up between 1 and 2, so no redo comes). And a later
 *    change of the same subject first writes those of the previous change's outbox that the feed
 *    misses (`carried`, when it is younger than a day) under its own time, so overwriting an outbox
 *    never loses its events, unless the run that wrote that outbox has `completed`: every writer of a
 *    run writes its events into the feed before its part of the run counts as done, and a run with a
 *    lost chunk ends `completed-with-errors`, so a completed run's outboxes are all in the feed. (A
 *    carried event whose own row keeps its old key can be written once more by a redo of that row:
 *    the same event, same id, under a third key. It takes two crashes in one chunk.)
 * 4. Every write into the feed happens under the writer's lock, with times taken after the lock was
 *    taken: readers wait for writers still writing (feed-writers.ts).
 *
 * A redelivered or replayed change that is already applied plans `unchanged`: no new sequence, no
 * event; the feed rows it may write again are the same rows.
 */
export interface SubjectChange {
  /** Columns to add to the subject's new row (its event bookkeeping). */
  readonly columns: Record<string, string | number>;
  /** This change's events: into the feed after the subject's write. */
  readonly events: FeedEvent[];
  /** The previous change's events: into the feed again before the subject's write. */
  readonly carried: CarriedOutbox;
}

/** A previous change's outbox, with the run that wrote it. */
export interface CarriedOutbox {
  readonly runId: string | undefined;
  readonly events: readonly FeedEvent[];
  /**
   * The carrying change's time: the events the feed misses go in under it (their lower sequence numbers
   * keep them before the carrying change's own), since their own time may be behind a reader's cursor.
   */
  readonly at: string;
}

const NOTHING_CARRIED: CarriedOutbox = Object.freeze({ runId: undefined, events: [], at: '' });

/** How long an outbox is written again by the subject's next change (redeliveries come in minutes). */
export const CARRY_HORIZON_MS = 24 * 60 * 60 * 1000;

function changeOf(
  subject: 'person' | 'team',
  subjectId: string,
  beforeRow: Row | undefined,
  bodies: Parameters<typeof feedEventsOf>[2],
  runId: string,
  now: Date,
): SubjectChange {
  const previous = outboxOf(beforeRow);
  if (bodies.length === 0) {
    // Nothing the app sees changed: the row keeps its bookkeeping as it was.
    return {
      columns:
        previous.at === undefined
          ? {}
          : outboxColumns(previous.events, { seq: previous.seq, at: previous.at }, previous.runId ?? ''),
      events: [],
      // Written again only when this very run wrote them (a redo after a crash before the feed's write).
      carried:
        previous.runId === runId
          ? { runId, events: previous.events, at: changeTime(now.toISOString(), previous.at) }
          : NOTHING_CARRIED,
    };
  }
  const at = changeTime(now.toISOString(), previous.at);
  const events = feedEventsOf(subject, subjectId, bodies, { previousSeq: previous.seq, at, runId });
  const carried =
    previous.at !== undefined && now.getTime() - Date.parse(previous.at) < CARRY_HORIZON_MS
      ? { runId: previous.runId, events: previous.events, at }
      : NOTHING_CARRIED;
  return {
    columns: outboxColumns(events, { seq: events.at(-1)!.seq, at }, runId),
    events,
    carried,
  };
}

/** A person's change: `before` as read (its row), `after` as it will be written. */
export function personChange(
  runId: string,
  beforeRow: Row | undefined,
  before: PersonRecord | undefined,
  after: PersonRecord,
  now: Date = new Date(),
): SubjectChange {
  return changeOf('person', after.personId, beforeRow, personEvents(before, after), runId, now);
}

function teamViewOf(row: Row): TeamView {
  return {
    teamId: row.rowKey,
    name: typeof row.name === 'string' ? row.name : '',
    description: typeof row.description === 'string' ? row.description : '',
    status: row.status === 'archived' ? 'archived' : 'active',
  };
}

/** A team's change: its row as read (none: a new team) and the row it will be written as. */
export function teamChange(
  runId: string,
  beforeRow: Row | undefined,
  afterRow: Row,
  now: Date = new Date(),
): SubjectChange {
  const bodies = teamEvents(beforeRow ? teamViewOf(beforeRow) : undefined, teamViewOf(afterRow));
  return changeOf('team', afterRow.rowKey, beforeRow, bodies, runId, now);
}

/**
 * A subject found unchanged whose outbox the feed may miss: its row, for `recoverOutboxes`, which keeps
 * those this very run wrote (a redelivery after a crash between the subject's write and the feed's,
 * maybe) and those of a run that ended without completing (a chunk of it given up between the two);
 * else undefined.
 */
export function replayedRow(row: Row | undefined): Row | undefined {
  return typeof row?.outboxRun === 'string' && row.outboxRun !== '' ? row : undefined;
}

/**
 * Whether this run already wrote the subject's row (the row's outbox is the run's): by an earlier message
 * of its partition (a user whose changes fill more than one), or by this message before a redelivery.
 */
export function writtenByRun(row: Row | undefined, runId: string): row is Row {
  return row !== undefined && row.outboxRun === runId;
}

/**
 * The events of these rows' outboxes that the feed misses, written under new keys (see 3. above): of
 * the outboxes this run wrote, and of those a run wrote that ended without completing (a chunk given up
 * between its people write and its feed write leaves outboxes that no change of that run redoes, and
 * its people are unchanged in the next rounds). The others are in the feed: a running run's are its
 * own chunks' to redo, a completed run's are all there.
 */
export async function recoverOutboxes(
  tables: TableGateway,
  table: TableName,
  ref: { tenantId: string; runId: string },
  buckets: number,
  rows: readonly Row[],
  now: Date = new Date(),
): Promise<void> {
  if (rows.length === 0) return;
  const { tenantId } = ref;
  const store = new EventStore(tables, buckets);
  const runs = new RunStore(tables);
  const kept = await whoseRun(
    rows,
    (row) => (typeof row.outboxRun === 'string' ? row.outboxRun : undefined),
    async (runId) => {
      if (runId === undefined) return false;
      if (runId === ref.runId) return true;
      const ended = await runs.endState(tenantId, runId);
      return ended !== undefined && ended !== 'completed';
    },
  );
  const outboxes = kept
    .map((row) => ({ row, outbox: outboxOf(row) }))
    .filter(({ outbox }) => outbox.events.length > 0 && outbox.at !== undefined);
  if (outboxes.length === 0) return;
  const present = await store.present(
    tenantId,
    outboxes.flatMap(({ outbox }) => outbox.events),
  );
  for (const { row, outbox } of outboxes) {
    const missing = outbox.events.filter((e) => !present.has(e.key));
    if (missing.length === 0) continue;
    const at = changeTime(now.toISOString(), outbox.at);
    const rekeyed = missing.map((e) => atTime(e, at));
    const events = [...outbox.events.filter((e) => present.has(e.key)), ...rekeyed];
    const columns = outboxColumns(events, { seq: outbox.seq, at }, outbox.runId ?? '', {
      clearPieces: true,
    });
    await tables.transact(table, [
      [
        'update',
        { partitionKey: row.partitionKey, rowKey: row.rowKey, ...columns },
        'Merge',
        { etag: row.etag ?? '*' },
      ],
    ]);
    await store.append(tenantId, rekeyed);
  }
}

/**
 * The items whose run passes `test`, asked once per run however many items it wrote (a run not ended
 * yet is not cached by the run store: asked once per item, a re-plan of a whole bucket would ask the
 * runs table once per row).
 */
async function whoseRun<T>(
  items: readonly T[],
  runOf: (item: T) => string | undefined,
  test: (runId: string | undefined) => Promise<boolean>,
): Promise<T[]> {
  const passes = new Map<string | undefined, boolean>();
  for (const item of items) {
    const runId = runOf(item);
    if (!passes.has(runId)) passes.set(runId, await test(runId));
  }
  return items.filter((item) => passes.get(runOf(item)));
}

/** An event moved to another time: same subject, sequence and id, a new feed key. */
function atTime(event: FeedEvent, at: string): FeedEvent {
  return { ...event, at, key: feedKey(at, event.subjectId, event.seq) };
}

/**
 * The previous outboxes of the subjects about to be written, into the feed again (see 3. above), but
 * for those a completed run wrote: their events are in the feed already. Those the feed misses (their
 * writer died before writing them) go in under the carrying change's time, not their own: a reader's
 * cursor may have passed their own time long ago (feed-writers.ts).
 */
export async function flushCarried(
  tables: TableGateway,
  tenantId: string,
  buckets: number,
  outboxes: readonly CarriedOutbox[],
): Promise<void> {
  const runs = new RunStore(tables);
  const pending = await whoseRun(
    outboxes.filter((outbox) => outbox.events.length > 0),
    (outbox) => outbox.runId,
    async (runId) => runId === undefined || !(await runs.hasCompleted(tenantId, runId)),
  );
  if (pending.length === 0) return;
  const present = await new EventStore(tables, buckets).present(
    tenantId,
    pending.flatMap((outbox) => outbox.events),
  );
  const missing = pending.flatMap(({ events, at }) =>
    events.filter((e) => !present.has(e.key)).map((e) => atTime(e, at)),
  );
  await flushEvents(tables, tenantId, buckets, missing);
}

/** Writes events into the tenant's feed (again: same keys, same rows). */
export async function flushEvents(
  tables: TableGateway,
  tenantId: string,
  buckets: number,
  events: readonly FeedEvent[],
): Promise<void> {
  if (events.length > 0) await new EventStore(tables, buckets).append(tenantId, events);
}
