import { describe, expect, it } from 'vitest';

import { outboxOf } from '../../../src/adapters/storage/event-store.js';
import type { Row } from '../../../src/adapters/storage/table-gateway.js';
import type { PersonRecord } from '../../../src/domain/person.js';
import type { FeedEvent } from '../../../src/domain/person-events.js';
import { PERSON_FIELDS } from '../../../src/domain/policy.js';
import { backoffMs, cursorAfter, lanesOf } from '../../../src/usecases/deliver-events.js';
import { personChange, replayedRow } from '../../../src/usecases/event-outbox.js';

const ID = '0b7a0d55-0d0c-5a4e-9d0e-2f8b3c1d9e01';

function person(overrides: Partial<PersonRecord> = {}): PersonRecord {
  const values = Object.fromEntries(PERSON_FIELDS.map((f) => [f, null])) as Record<
    (typeof PERSON_FIELDS)[number],
    null
  >;
  return {
    ...values,
    personId: ID,
    origin: 'entra',
    sourceObjectId: 'u1',
    status: 'created',
    previousStatus: null,
    managerId: null,
    entraManagerId: null,
    managerProblem: null,
    custom: {},
    synced: {},
    teams: [],
    history: [],
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    ...overrides,
  };
}

const rowWith = (columns: Record<string, unknown>): Row => ({ partitionKey: 'p', rowKey: ID, ...columns });

describe('the outbox on the changed row', () => {
  const t1 = new Date('2026-03-01T10:00:00.000Z');
  const t2 = new Date('2026-03-01T10:05:00.000Z');

  it('a creation numbers its events from 1 and puts them on the row', () => {
    const change = personChange('run-1', undefined, undefined, person({ teams: ['t1'] }), t1);
    expect(change.events.map((e) => [e.type, e.seq, e.id])).toEqual([['person.created', 1, `${ID}.1`]]);
    expect(change.carried.events).toEqual([]);
    const stored = outboxOf(rowWith(change.columns));
    expect(stored).toEqual({ seq: 1, at: t1.toISOString(), runId: 'run-1', events: change.events });
  });

  it('the next change goes on from the row’s sequence and carries the previous outbox; its time never goes back', () => {
    const first = personChange('run-1', undefined, undefined, person(), t1);
    const before = rowWith(first.columns);
    const earlier = new Date('2026-03-01T09:00:00.000Z');
    const second = personChange(
      'run-2',
      before,
      person(),
      person({ jobTitle: 'CTO', teams: ['t1'] }),
      earlier,
    );
    expect(second.events.map((e) => [e.type, e.seq])).toEqual([
      ['person.updated', 2],
      ['team.member_added', 3],
    ]);
    expect(second.events[0]!.at > first.events[0]!.at).toBe(true);
    // What the feed misses of it goes in under the second change's time, before its events.
    expect(second.carried).toEqual({ runId: 'run-1', events: first.events, at: second.events[0]!.at });
  });

  it('a write that changes nothing the app sees keeps the row’s bookkeeping and makes no event', () => {
    const first = personChange('run-1', undefined, undefined, person(), t1);
    const same = personChange('run-2', rowWith(first.columns), person(), person({ synced: { a: 'b' } }), t2);
    expect(same.events).toEqual([]);
    expect(same.carried.events).toEqual([]);
    expect(outboxOf(rowWith(same.columns))).toEqual(outboxOf(rowWith(first.columns)));
  });

  it('an unchanged person’s outbox goes to recoverOutboxes (which asks how its run ended); no outbox, nothing to look up', () => {
    const first = personChange('run-1', undefined, undefined, person(), t1);
    const row = rowWith(first.columns);
    expect(replayedRow(row)).toBe(row);
    expect(replayedRow(rowWith({}))).toBeUndefined();
    expect(replayedRow(undefined)).toBeUndefined();
  });
});

describe('webhook delivery order', () => {
  const event = (subjectId: string, seq: number): FeedEvent => ({
    key: `2026-03-01T10:00:00.00${seq}Z_${subjectId}_${String(seq).padStart(10, '0')}`,
    id: `${subjectId}.${seq}`,
    type: 'person.updated',
    subject: 'person',
    subjectId,
    seq,
    at: '2026-03-01T10:00:00.000Z',
    runId: 'r',
    data: {},
  });

  it('lanes keep each subject’s events in order', () => {
    const window = [event('a', 1), event('b', 2), event('a', 3), event('c', 4), event('b', 5)];
    expect(lanesOf(window).map((lane) => lane.map((e) => e.id))).toEqual([
      ['a.1', 'a.3'],
      ['b.2', 'b.5'],
      ['c.4'],
    ]);
  });

  it('the cursor stops just before the earliest blocked event', () => {
    const window = [event('a', 1), event('b', 2), event('a', 3), event('c', 4)];
    expect(cursorAfter(window, new Set(), 'x')).toBe(window[3]!.key);
    expect(cursorAfter(window, new Set([window[2]!.key]), 'x')).toBe(window[1]!.key);
    expect(cursorAfter(window, new Set([window[0]!.key, window[3]!.key]), 'x')).toBe('x');
  });

  it('back-off doubles per attempt, jittered to half of it, capped at 5 minutes', () => {
    expect(backoffMs(1, 100, () => 1)).toBe(100);
    expect(backoffMs(3, 100, () => 1)).toBe(400);
    expect(backoffMs(3, 100, () => 0)).toBe(200);
    expect(backoffMs(40, 100, () => 1)).toBe(300_000);
  });
});
