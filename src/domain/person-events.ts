import type { FieldValue, PersonRecord } from './person.js';
import { isOutOfDirectory, type PersonStatus } from './person-status.js';
import { PERSON_FIELDS } from './policy.js';

/**
 * The app's events: what an applied change of a person or a team tells the app, decided from the
 * record before and after the change, and nothing else (pure). No event when nothing the app sees
 * changed; replaying a person's events on what the app saw before gives what it sees after
 * (`observe`), so the events of a→b then b→c tell exactly a→c's story.
 *
 * What the app sees of a person (`PersonView`): its fields, custom properties, status, manager and
 * teams. Bookkeeping (the merge base, history, timestamps, the Entra link) is not an event.
 */
export const PERSON_EVENT_TYPES = [
  'person.created',
  'person.updated',
  'person.deactivated',
  'person.removed',
  'person.reactivated',
  'team.member_added',
  'team.member_removed',
] as const;
export const TEAM_EVENT_TYPES = ['team.created', 'team.updated', 'team.archived'] as const;
export type PersonEventType = (typeof PERSON_EVENT_TYPES)[number];
export type TeamEventType = (typeof TEAM_EVENT_TYPES)[number];
export type EventType = PersonEventType | TeamEventType;

export interface FieldChange {
  readonly key: string;
  readonly from: FieldValue;
  readonly to: FieldValue;
}

/** What the app sees of a person: field keys (built-in names, `custom.<name>`, `managerId`) → value. */
export interface PersonView {
  readonly personId: string;
  readonly status: PersonStatus;
  readonly values: Readonly<Record<string, FieldValue>>;
  readonly teams: readonly string[];
}

export type PersonEvent =
  | {
      readonly type: 'person.created';
      readonly personId: string;
      readonly status: PersonStatus;
      readonly values: Readonly<Record<string, FieldValue>>;
      /** Its teams when created (no team.member_added for them). */
      readonly teams: readonly string[];
    }
  | { readonly type: 'person.updated'; readonly personId: string; readonly changes: readonly FieldChange[] }
  | {
      readonly type: 'person.deactivated' | 'person.removed' | 'person.reactivated';
      readonly personId: string;
      readonly status: PersonStatus;
      readonly previousStatus: PersonStatus;
    }
  | {
      readonly type: 'team.member_added' | 'team.member_removed';
      readonly personId: string;
      readonly teamId: string;
    };

export function viewOf(person: PersonRecord): PersonView {
  const values: Record<string, FieldValue> = {};
  for (const field of PERSON_FIELDS) values[field] = person[field] ?? null;
  for (const name of Object.keys(person.custom).sort()) {
    const value = person.custom[name];
    if (value !== undefined && value !== null) values[`custom.${name}`] = value;
  }
  values.managerId = person.managerId ?? null;
  return { personId: person.personId, status: person.status, values, teams: [...person.teams].sort() };
}

function same(a: FieldValue | undefined, b: FieldValue | undefined): boolean {
  const x = a ?? null;
  const y = b ?? null;
  if (Array.isArray(x) || Array.isArray(y)) return JSON.stringify(x) === JSON.stringify(y);
  return x === y;
}

/**
 * The events of one applied change, in the order the app should apply them: created (with its
 * teams), or the field changes, then the status move, then the memberships removed, then those added.
 */
export function personEvents(before: PersonRecord | undefined, after: PersonRecord): PersonEvent[] {
  return viewEvents(before ? viewOf(before) : undefined, viewOf(after));
}

export function viewEvents(before: PersonView | undefined, after: PersonView): PersonEvent[] {
  const personId = after.personId;
  const events: PersonEvent[] = [];
  if (!before) {
    return [
      { type: 'person.created', personId, status: after.status, values: after.values, teams: after.teams },
    ];
  } else {
    const keys = [...new Set([...Object.keys(before.values), ...Object.keys(after.values)])].sort();
    const changes: FieldChange[] = keys
      .filter((key) => !same(before.values[key], after.values[key]))
      .map((key) => ({ key, from: before.values[key] ?? null, to: after.values[key] ?? null }));
    if (changes.length > 0) events.push({ type: 'person.updated', personId, changes });
    if (before.status !== after.status) {
      const type = isOutOfDirectory(after.status)
        ? after.status === 'removed'
          ? 'person.removed'
          : 'person.deactivated'
        : isOutOfDirectory(before.status)
          ? 'person.reactivated'
          : undefined;
      if (type) events.push({ type, personId, status: after.status, previousStatus: before.status });
      else
        events.push({
          type: 'person.updated',
          personId,
          changes: [{ key: 'status', from: before.status, to: after.status }],
        });
    }
  }
  const was = new Set(before?.teams ?? []);
  const is = new Set(after.teams);
  for (const teamId of [...was].filter((t) => !is.has(t)).sort())
    events.push({ type: 'team.member_removed', personId, teamId });
  for (const teamId of [...is].filter((t) => !was.has(t)).sort())
    events.push({ type: 'team.member_added', personId, teamId });
  return events;
}

/** What the app sees after applying `events` to what it saw (undefined: the person did not exist). */
export function observe(
  view: PersonView | undefined,
  events: readonly PersonEvent[],
): PersonView | undefined {
  let current = view;
  for (const event of events) {
    switch (event.type) {
      case 'person.created':
        current = {
          personId: event.personId,
          status: event.status,
          values: { ...event.values },
          teams: [...event.teams].sort(),
        };
        break;
      case 'person.updated': {
        if (!current) break;
        const values = { ...current.values };
        let status = current.status;
        for (const change of event.changes) {
          if (change.key === 'status') status = change.to as PersonStatus;
          else if (change.to === null && change.key.startsWith('custom.')) delete values[change.key];
          else values[change.key] = change.to;
        }
        current = { ...current, values, status };
        break;
      }
      case 'person.deactivated':
      case 'person.removed':
      case 'person.reactivated':
        if (current) current = { ...current, status: event.status };
        break;
      case 'team.member_added':
        if (current) current = { ...current, teams: [...new Set([...current.teams, event.teamId])].sort() };
        break;
      case 'team.member_removed':
        if (current) current = { ...current, teams: current.teams.filter((t) => t !== event.teamId) };
        break;
    }
  }
  return current;
}

/** A team as the app sees it. */
export interface TeamView {
  readonly teamId: string;
  readonly name: string;
  readonly description: string;
  readonly status: 'active' | 'archived';
}

export type TeamEvent =
  | {
      readonly type: 'team.created';
      readonly teamId: string;
      readonly name: string;
      readonly description: string;
      readonly status: 'active' | 'archived';
    }
  | { readonly type: 'team.updated'; readonly teamId: string; readonly changes: readonly FieldChange[] }
  | { readonly type: 'team.archived'; readonly teamId: string };

export function teamEvents(before: TeamView | undefined, after: TeamView): TeamEvent[] {
  const { teamId } = after;
  if (!before)
    return [
      {
        type: 'team.created',
        teamId,
        name: after.name,
        description: after.description,
        status: after.status,
      },
    ];
  const events: TeamEvent[] = [];
  const changes: FieldChange[] = (['name', 'description'] as const)
    .filter((key) => before[key] !== after[key])
    .map((key) => ({ key, from: before[key], to: after[key] }));
  if (before.status !== after.status && after.status === 'active')
    changes.push({ key: 'status', from: before.status, to: after.status });
  if (changes.length > 0) events.push({ type: 'team.updated', teamId, changes });
  if (before.status !== after.status && after.status === 'archived')
    events.push({ type: 'team.archived', teamId });
  return events;
}

/**
 * The feed's order key of an event: the change's time, then its subject, then the subject's own
 * sequence (zero-padded so it sorts as a number). Keys of one subject sort by sequence as long as
 * each change's time is no earlier than the subject's previous one (`changeTime` sees to it).
 */
export function feedKey(at: string, subjectId: string, seq: number): string {
  return `${at}_${subjectId}_${String(seq).padStart(10, '0')}`;
}

/** A change's time: now, or just after the subject's previous change if a clock went back. */
export function changeTime(now: string, previous: string | undefined): string {
  if (!previous || previous < now) return now;
  return new Date(Date.parse(previous) + 1).toISOString();
}

export const EVENT_TYPES = [...PERSON_EVENT_TYPES, ...TEAM_EVENT_TYPES] as const;

/** One event of the feed, as stored and as delivered: its body is `data`. */
export interface FeedEvent {
  /** The feed key (cursor): `<at>_<subjectId>_<seq>`. */
  readonly key: string;
  /** Stable id (`<subjectId>.<seq>`): the webhook's `webhook-id`, the app's dedup key. */
  readonly id: string;
  readonly type: EventType;
  readonly subject: 'person' | 'team';
  readonly subjectId: string;
  /** The subject's own sequence: strictly increasing, one per event. */
  readonly seq: number;
  readonly at: string;
  readonly runId: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** The feed events of one change of a subject whose last sequence was `previousSeq`, at `at`. */
export function feedEventsOf(
  subject: 'person' | 'team',
  subjectId: string,
  bodies: readonly (PersonEvent | TeamEvent)[],
  change: { previousSeq: number; at: string; runId: string },
): FeedEvent[] {
  return bodies.map((body, i) => {
    const seq = change.previousSeq + i + 1;
    const { type, ...data } = body;
    return {
      key: feedKey(change.at, subjectId, seq),
      id: `${subjectId}.${seq}`,
      type,
      subject,
      subjectId,
      seq,
      at: change.at,
      runId: change.runId,
      data,
    };
  });
}
