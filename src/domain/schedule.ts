import { Cron } from 'croner';

/**
 * Decides when a connection's next scheduled round is due: manual (never), every N minutes, hourly,
 * daily or twice daily at local times in a time zone, or weekly.
 */
export type Schedule =
  | { readonly kind: 'manual' }
  | { readonly kind: 'interval'; readonly minutes: number }
  | { readonly kind: 'hourly'; readonly minute: number }
  | { readonly kind: 'daily'; readonly time: string; readonly timeZone: string }
  | { readonly kind: 'twice-daily'; readonly times: [string, string]; readonly timeZone: string }
  | { readonly kind: 'weekly'; readonly day: Weekday; readonly time: string; readonly timeZone: string };

export const WEEKDAYS = [
  'sunday',
  'monday',
  'tuesday',
  'wednesday',
  'thursday',
  'friday',
  'saturday',
] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** The first due time strictly after `after`, or null for a manual schedule. */
export function nextDueAfter(schedule: Schedule, after: Date): Date | null {
  switch (schedule.kind) {
    case 'manual':
      return null;
    case 'interval':
      return new Date(after.getTime() + schedule.minutes * 60_000);
    case 'hourly':
      return nextOf(`0 ${schedule.minute} * * * *`, 'UTC', after);
    case 'daily':
      return nextOf(cronAt(schedule.time, '*'), schedule.timeZone, after);
    case 'twice-daily': {
      const candidates = schedule.times.map((time) => nextOf(cronAt(time, '*'), schedule.timeZone, after));
      return candidates.reduce((a, b) => (a.getTime() <= b.getTime() ? a : b));
    }
    case 'weekly':
      return nextOf(cronAt(schedule.time, String(WEEKDAYS.indexOf(schedule.day))), schedule.timeZone, after);
  }
}

function cronAt(time: string, dayOfWeek: string): string {
  const [hours, minutes] = time.split(':');
  return `0 ${Number(minutes)} ${Number(hours)} * * ${dayOfWeek}`;
}

function nextOf(pattern: string, timezone: string, after: Date): Date {
  const next = new Cron(pattern, { timezone }).nextRun(after);
  if (!next) throw new Error(`schedule ${pattern} in ${timezone} has no next occurrence`);
  return next;
}
