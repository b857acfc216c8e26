import { z } from 'zod';

import { WEEKDAYS } from './schedule.js';

/** A connection's schedule as the settings give it (decided by schedule.ts). */
const time = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected a local time as HH:mm');
const timeZone = z.string().refine(isTimeZone, 'expected an IANA time zone such as Europe/Paris');

export const scheduleSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('manual') }),
  z.object({
    kind: z.literal('interval'),
    minutes: z
      .number()
      .int()
      .min(1)
      .max(24 * 60),
  }),
  z.object({ kind: z.literal('hourly'), minute: z.number().int().min(0).max(59).default(0) }),
  z.object({ kind: z.literal('daily'), time, timeZone }),
  z.object({ kind: z.literal('twice-daily'), times: z.tuple([time, time]), timeZone }),
  z.object({ kind: z.literal('weekly'), day: z.enum(WEEKDAYS), time, timeZone }),
]);

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}
