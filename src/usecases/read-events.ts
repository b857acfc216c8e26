import { type DeadLetter, EventStore } from '../adapters/storage/event-store.js';
import type { FeedEvent } from '../domain/person-events.js';
import { type ApiResult, ok } from './api-result.js';
import { feedHorizon } from './feed-writers.js';
import type { PipelineDeps } from './pipeline-deps.js';

/**
 * The app reads its feed: GET /api/events?after=<cursor>&limit=. Events come in feed order (time,
 * then subject, then the subject's sequence); `cursor` is the last one's (pass it as `after` for the
 * next page; the same cursor when there is nothing new). An event's key is its change's time, taken
 * before the change is written, so a change being written now still adds a key behind the tip: only
 * events older than the settle lag (SYNC_EVENTS_SETTLE_MS, 2 s) and older than every writer still
 * writing are returned (feed-writers.ts), so a reader that follows the cursor skips none, however long
 * a write takes.
 */
export interface EventView {
  readonly cursor: string;
  readonly id: string;
  readonly type: FeedEvent['type'];
  readonly tenantId: string;
  readonly subject: FeedEvent['subject'];
  readonly subjectId: string;
  readonly seq: number;
  readonly at: string;
  readonly runId: string;
  readonly data: FeedEvent['data'];
}

/** An event as the app reads and receives it. */
export function eventView(tenantId: string, event: FeedEvent): EventView {
  return {
    cursor: event.key,
    id: event.id,
    type: event.type,
    tenantId,
    subject: event.subject,
    subjectId: event.subjectId,
    seq: event.seq,
    at: event.at,
    runId: event.runId,
    data: event.data,
  };
}

export interface EventPage {
  readonly events: EventView[];
  /** Where the next page starts (`after`); null when the feed is empty and no cursor was given. */
  readonly cursor: string | null;
  /** More events are readable now. */
  readonly more: boolean;
}

export async function readEvents(
  deps: PipelineDeps,
  tenantId: string,
  options: { after?: string; limit: number; settleMs: number },
): Promise<ApiResult<EventPage>> {
  const store = new EventStore(deps.tables, deps.buckets);
  const until = await feedHorizon(deps.tables, tenantId, deps.now(), options.settleMs);
  const events = await store.read(tenantId, {
    ...(options.after ? { after: options.after } : {}),
    until,
    limit: options.limit + 1,
  });
  const page = events.slice(0, options.limit);
  return ok({
    events: page.map((e) => eventView(tenantId, e)),
    cursor: page.at(-1)?.key ?? options.after ?? null,
    more: events.length > options.limit,
  });
}

export async function listDeadLetters(
  deps: PipelineDeps,
  tenantId: string,
  options: { after?: string; limit: number },
): Promise<ApiResult<{ deadLetters: DeadLetter[]; cursor: string | null }>> {
  const store = new EventStore(deps.tables, deps.buckets);
  const deadLetters = await store.deadLetters(tenantId, options);
  return ok({ deadLetters, cursor: deadLetters.at(-1)?.key ?? options.after ?? null });
}

/** Moves the app webhook's cursor to `after` ('' = the feed's start): later events are sent again. */
export async function replayEvents(
  deps: PipelineDeps,
  tenantId: string,
  after: string,
): Promise<ApiResult<{ replayFrom: string }>> {
  await new EventStore(deps.tables, deps.buckets).replayFrom(tenantId, after);
  return ok({ replayFrom: after });
}
