/** One log line from the host or from a function (`context.log/warn/error`). */
export interface HostLogEntry {
  level: string;
  category: string;
  functionName?: string;
  invocationId?: string;
  message: string;
}

export type HostLogSink = (entry: HostLogEntry) => void;

/** The default sink: one JSON object per line on stdout (the CLI's output format). */
export function stdoutJsonLogSink(entry: HostLogEntry): void {
  process.stdout.write(`${JSON.stringify({ event: 'log', time: new Date().toISOString(), ...entry })}\n`);
}

/** Host-level categories, named like the Functions host's own. */
export const HOST_CATEGORY = {
  startup: 'Host.Startup',
  http: 'Host.Http',
  queues: 'Host.Triggers.Queues',
  timers: 'Host.Triggers.Timer',
} as const;

/** The category of a function's logs: user logs as `Function.<name>.User`, the rest as `Function.<name>`. */
export function functionCategory(functionName: string, logCategory: string): string {
  return logCategory === 'user' ? `Function.${functionName}.User` : `Function.${functionName}`;
}
