import { z } from 'zod';

import { EVENT_TYPES, type FeedEvent, feedKey } from '../../domain/person-events.js';

/**
 * How a subject's outbox (event-store.ts) is written on its row: its events without what each one
 * repeats, so that a change of thousands of events still fits the row (Table Storage: 1 MiB an entity).
 *
 * - Said once for the outbox: the subject, its id, the change's time and run. An event repeats its own
 *   time (and run) only where it differs (an event given a new time by `recoverOutboxes`).
 * - Never stored, rebuilt exactly: an event's key (`feedKey`: time, subject id, seq), its id
 *   (`<subject id>.<seq>`), and a person event's `personId` (the subject's own id).
 * - A run of team membership events of one kind, with consecutive sequence numbers, is one entry with
 *   its list of team ids: a person who joins 2,000 teams costs about 40 characters a team (in full, an
 *   event is about 400), beside the 37 a team its `teams` column already costs.
 *
 * So a person row holds a change of up to about 6,000 teams joined or left at once within 1 MiB; the
 * gateway refuses a larger one (`storage-limit`, on the run) rather than writing it in part.
 */
type Entry = [
  seq: number,
  type: FeedEvent['type'],
  body: Record<string, unknown> | string[],
  ...tail: string[],
];

const MEMBER_TYPES: ReadonlySet<string> = new Set(['team.member_added', 'team.member_removed']);

const storedSchema = z.object({
  s: z.enum(['person', 'team']),
  i: z.string(),
  a: z.string(),
  r: z.string(),
  e: z.array(
    z
      .tuple([
        z.number().int().min(1),
        z.enum(EVENT_TYPES),
        z.union([z.array(z.string()), z.record(z.string(), z.unknown())]),
      ])
      .rest(z.string()),
  ),
});

export function packOutbox(events: readonly FeedEvent[]): string {
  const first = events[0];
  if (!first) return '';
  const head = { s: first.subject, i: first.subjectId, a: first.at, r: first.runId };
  const entries: Entry[] = [];
  for (const event of events) {
    const tail = event.runId !== head.r ? [event.at, event.runId] : event.at !== head.a ? [event.at] : [];
    const { personId, ...rest } = event.data;
    const own = event.subject === 'person' && personId === event.subjectId;
    const data = own ? rest : event.data;
    const teamId = memberTeamOf(event.type, data);
    const last = entries.at(-1);
    if (
      teamId !== undefined &&
      last !== undefined &&
      Array.isArray(last[2]) &&
      last[1] === event.type &&
      last[0] + last[2].length === event.seq &&
      sameTail(last.slice(3), tail)
    ) {
      last[2].push(teamId);
      continue;
    }
    entries.push([event.seq, event.type, teamId !== undefined ? [teamId] : data, ...tail]);
  }
  return JSON.stringify({ ...head, e: entries });
}

/** The events of a stored outbox, exactly as they were packed; none when the text is not an outbox. */
export function unpackOutbox(text: string): FeedEvent[] {
  if (text === '') return [];
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return [];
  }
  const parsed = storedSchema.safeParse(json);
  if (!parsed.success) return [];
  const { s: subject, i: subjectId, a, r, e } = parsed.data;
  const events: FeedEvent[] = [];
  for (const [seq, type, body, ...tail] of e) {
    const at = tail[0] ?? a;
    const runId = tail[1] ?? r;
    const bodies = Array.isArray(body) ? body.map((teamId) => ({ teamId })) : [body];
    bodies.forEach((own, i) => {
      const data = subject === 'person' ? { personId: subjectId, ...own } : own;
      const n = seq + i;
      events.push({
        key: feedKey(at, subjectId, n),
        id: `${subjectId}.${n}`,
        type,
        subject,
        subjectId,
        seq: n,
        at,
        runId,
        data,
      });
    });
  }
  return events;
}

/** The team of a membership event whose data is nothing else (its person being the subject). */
function memberTeamOf(type: string, data: Record<string, unknown>): string | undefined {
  if (!MEMBER_TYPES.has(type)) return undefined;
  const keys = Object.keys(data);
  return keys.length === 1 && typeof data.teamId === 'string' ? data.teamId : undefined;
}

function sameTail(a: readonly unknown[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}
