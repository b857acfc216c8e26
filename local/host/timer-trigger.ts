import { Cron } from 'croner';

import type { RegisteredFunction } from './core-api.js';
import type { InvocationInput } from './function-invoker.js';
import { HOST_CATEGORY, type HostLogSink } from './log-sink.js';

/** What `ScheduleStatus.Last` holds before the first occurrence (.NET `DateTime.MinValue`). */
export const NEVER = '0001-01-01T00:00:00';

/**
 * Parses a six-field NCRONTAB expression (`{second} {minute} {hour} {day} {month} {day-of-week}`), with
 * NCRONTAB's rule that day and day-of-week must both match. Throws on anything else.
 */
export function parseNcrontab(schedule: string, timezone = 'Etc/UTC'): Cron {
  return new Cron(schedule, { mode: '6-part', domAndDow: true, timezone, paused: true });
}

export interface TimerTriggerOptions {
  readonly fn: RegisteredFunction;
  readonly triggerName: string;
  readonly schedule: string;
  readonly runOnStartup: boolean;
  /** IANA time zone of the schedule (the host uses UTC unless WEBSITE_TIME_ZONE says otherwise). */
  readonly timezone: string;
  readonly invoke: (fn: RegisteredFunction, input: InvocationInput) => Promise<unknown>;
  readonly log: HostLogSink;
}

/**
 * Fires a timer-triggered function on its schedule (never two invocations of one timer at once, as the
 * host's singleton timer lock ensures), once at start when `runOnStartup`, with the host's TimerInfo.
 */
export class TimerTrigger {
  readonly #options: TimerTriggerOptions;
  readonly #cron: Cron;
  #last: Date | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(options: TimerTriggerOptions) {
    this.#options = options;
    this.#cron = parseNcrontab(options.schedule, options.timezone);
  }

  start(): void {
    this.#cron.schedule(() => this.#fire(`Timer fired at ${new Date().toISOString()}`));
    this.#cron.resume();
    if (this.#options.runOnStartup) this.#fire('This function was started at host startup (runOnStartup)');
  }

  /** Stops the schedule; resolves once a running invocation has finished. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cron.stop();
    await this.#running;
  }

  #fire(reason: string): void {
    const { fn, triggerName, log } = this.#options;
    if (this.#stopped) return;
    if (this.#running) {
      log({
        level: 'warning',
        category: HOST_CATEGORY.timers,
        functionName: fn.metadata.name,
        message: `Skipping an occurrence of '${fn.metadata.name}': the previous invocation is still running.`,
      });
      return;
    }
    const now = new Date();
    const timerInfo = {
      Schedule: { AdjustForDST: true },
      ScheduleStatus: {
        Last: this.#last?.toISOString() ?? NEVER,
        Next: this.#cron.nextRun(now)?.toISOString() ?? null,
        LastUpdated: now.toISOString(),
      },
      IsPastDue: false,
    };
    this.#last = now;
    this.#running = this.#options
      .invoke(fn, {
        inputData: [{ name: triggerName, data: { json: JSON.stringify(timerInfo) } }],
        triggerMetadata: {},
        reason,
      })
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => {
        this.#running = undefined;
      });
  }
}
