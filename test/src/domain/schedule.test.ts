import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { nextDueAfter, type Schedule, WEEKDAYS } from '../../../src/domain/schedule.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Zones with and without daylight saving, east and west, half-hour offsets. */
const timeZoneArb = fc.constantFrom(
  'UTC',
  'Europe/Paris',
  'America/New_York',
  'America/Los_Angeles',
  'Asia/Tokyo',
  'Asia/Kolkata',
  'Australia/Sydney',
);

/** Local times that exist every day in those zones (daylight saving shifts happen between 00:00 and 03:59). */
const timeArb = fc
  .record({ hours: fc.integer({ min: 4, max: 23 }), minutes: fc.integer({ min: 0, max: 59 }) })
  .map(({ hours, minutes }) => `${String(hours).padStart(2, '0')}:${String(minutes).padStart(2, '0')}`);

const afterArb = fc.date({
  min: new Date('2020-01-01T00:00:00Z'),
  max: new Date('2035-12-31T00:00:00Z'),
  noInvalidDate: true,
});

function localParts(date: Date, timeZone: string): { time: string; weekday: string } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    hour: '2-digit',
    minute: '2-digit',
    weekday: 'long',
  }).formatToParts(date);
  const part = (type: string): string => parts.find((p) => p.type === type)?.value ?? '';
  return { time: `${part('hour')}:${part('minute')}`, weekday: part('weekday').toLowerCase() };
}

function due(schedule: Schedule, after: Date): Date {
  const next = nextDueAfter(schedule, after);
  if (!next) throw new Error('expected a due time');
  return next;
}

describe('nextDueAfter', () => {
  it('never runs a manual schedule', () => {
    expect(nextDueAfter({ kind: 'manual' }, new Date())).toBeNull();
  });

  it('adds the interval in minutes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 24 * 60 }), afterArb, (minutes, after) => {
        expect(due({ kind: 'interval', minutes }, after).getTime() - after.getTime()).toBe(minutes * 60_000);
      }),
    );
  });

  it('runs hourly at the minute, within the next hour', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 59 }), afterArb, (minute, after) => {
        const next = due({ kind: 'hourly', minute }, after);
        expect(next.getTime()).toBeGreaterThan(after.getTime());
        expect(next.getTime() - after.getTime()).toBeLessThanOrEqual(HOUR);
        expect(next.getUTCMinutes()).toBe(minute);
        expect(next.getUTCSeconds()).toBe(0);
      }),
    );
  });

  it('runs daily at that local time in the time zone, the first such time strictly after', () => {
    fc.assert(
      fc.property(timeArb, timeZoneArb, afterArb, (time, timeZone, after) => {
        const next = due({ kind: 'daily', time, timeZone }, after);
        expect(next.getTime()).toBeGreaterThan(after.getTime());
        expect(next.getTime() - after.getTime()).toBeLessThanOrEqual(DAY + HOUR);
        expect(localParts(next, timeZone).time).toBe(time);
      }),
      { numRuns: 300 },
    );
  });

  it('is strictly after a moment that is exactly a due time', () => {
    const at = new Date('2025-06-10T02:00:00.000Z');
    expect(due({ kind: 'daily', time: '02:00', timeZone: 'UTC' }, at).toISOString()).toBe(
      '2025-06-11T02:00:00.000Z',
    );
    expect(due({ kind: 'hourly', minute: 0 }, at).toISOString()).toBe('2025-06-10T03:00:00.000Z');
  });

  it('runs daily in Paris at 09:00 local time in winter and in summer', () => {
    const schedule: Schedule = { kind: 'daily', time: '09:00', timeZone: 'Europe/Paris' };
    expect(due(schedule, new Date('2025-01-15T12:00:00Z')).toISOString()).toBe('2025-01-16T08:00:00.000Z');
    expect(due(schedule, new Date('2025-07-15T12:00:00Z')).toISOString()).toBe('2025-07-16T07:00:00.000Z');
  });

  it('runs once on the days daylight saving skips or repeats the local time', () => {
    const schedule: Schedule = { kind: 'daily', time: '02:30', timeZone: 'Europe/Paris' };
    // 2025-03-30: 02:00 → 03:00 in Paris; 2025-10-26: 03:00 → 02:00.
    const spring = due(schedule, new Date('2025-03-29T12:00:00Z'));
    expect(spring.getTime() - new Date('2025-03-29T12:00:00Z').getTime()).toBeLessThan(DAY);
    expect(due(schedule, spring).toISOString()).toBe('2025-03-31T00:30:00.000Z');
    const autumn = due(schedule, new Date('2025-10-25T12:00:00Z'));
    expect(autumn.toISOString()).toBe('2025-10-26T00:30:00.000Z');
    expect(due(schedule, autumn).toISOString()).toBe('2025-10-27T01:30:00.000Z');
  });

  it('runs twice daily at the earlier of the two next local times', () => {
    fc.assert(
      fc.property(timeArb, timeArb, timeZoneArb, afterArb, (a, b, timeZone, after) => {
        const next = due({ kind: 'twice-daily', times: [a, b], timeZone }, after);
        const nextA = due({ kind: 'daily', time: a, timeZone }, after);
        const nextB = due({ kind: 'daily', time: b, timeZone }, after);
        expect(next.getTime()).toBe(Math.min(nextA.getTime(), nextB.getTime()));
      }),
      { numRuns: 200 },
    );
  });

  it('runs weekly on that weekday at that local time, within the next week', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...WEEKDAYS),
        timeArb,
        timeZoneArb,
        afterArb,
        (day, time, timeZone, after) => {
          const next = due({ kind: 'weekly', day, time, timeZone }, after);
          expect(next.getTime()).toBeGreaterThan(after.getTime());
          expect(next.getTime() - after.getTime()).toBeLessThanOrEqual(7 * DAY + HOUR);
          expect(localParts(next, timeZone)).toEqual({ time, weekday: day });
        },
      ),
      { numRuns: 300 },
    );
  });
});
