/**
 * Reads the local host's JSON log lines (the `Executing` / `Executed 'Functions.x' (…, Duration=Nms)`
 * lines every invocation writes, and warnings/errors) into per-phase figures: invocations, time spent,
 * concurrency and the moment the fetcher finished.
 */
import { z } from 'zod';

import type { HostEvent } from '../local/environment/host-process.js';

const logEventSchema = z.object({
  event: z.literal('log'),
  time: z.string(),
  level: z.string(),
  functionName: z.string().optional(),
  invocationId: z.string().optional(),
  message: z.string(),
});

const EXECUTING = /^Executing 'Functions\.([^']+)'/;
const EXECUTED = /^Executed 'Functions\.([^']+)' \((Succeeded|Failed), Id=[^,]+, Duration=(\d+)ms\)/;

export interface FunctionFigures {
  readonly invocations: number;
  readonly failed: number;
  /** Sum of invocation durations. */
  readonly busySeconds: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly maxMs: number;
  /** Most invocations of this function running at once. */
  readonly maxConcurrent: number;
  /** Seconds from the phase's start to the first invocation's start and to the last one's end. */
  readonly firstStartSeconds: number;
  readonly lastEndSeconds: number;
}

export interface HostLogFigures {
  readonly functions: Record<string, FunctionFigures>;
  /** Warnings and errors by message shape (ids and numbers blanked), most frequent first. */
  readonly problems: Record<string, number>;
}

interface Accumulator {
  durations: number[];
  failed: number;
  running: number;
  maxConcurrent: number;
  firstStart: number;
  lastEnd: number;
}

export class HostLogStats {
  #phaseStart = Date.now();
  #functions = new Map<string, Accumulator>();
  #problems = new Map<string, number>();

  /** Starts counting a new phase at `startedAt` (epoch ms). */
  beginPhase(startedAt: number): void {
    this.#phaseStart = startedAt;
    this.#functions = new Map();
    this.#problems = new Map();
  }

  record(raw: HostEvent): void {
    const parsed = logEventSchema.safeParse(raw);
    if (!parsed.success) return;
    const event = parsed.data;
    const at = Date.parse(event.time);
    const executing = EXECUTING.exec(event.message);
    if (executing) {
      const acc = this.#accumulator(executing[1]!);
      acc.running += 1;
      acc.maxConcurrent = Math.max(acc.maxConcurrent, acc.running);
      acc.firstStart = Math.min(acc.firstStart, at);
      return;
    }
    const executed = EXECUTED.exec(event.message);
    if (executed) {
      const acc = this.#accumulator(executed[1]!);
      acc.running = Math.max(0, acc.running - 1);
      acc.durations.push(Number(executed[3]));
      if (executed[2] === 'Failed') acc.failed += 1;
      acc.lastEnd = Math.max(acc.lastEnd, at);
      if (executed[2] === 'Succeeded') return;
    }
    if (event.level === 'warning' || event.level === 'error') {
      const shape = `${event.level}: ${event.functionName ?? 'host'}: ${shapeOf(event.message)}`;
      this.#problems.set(shape, (this.#problems.get(shape) ?? 0) + 1);
    }
  }

  figures(): HostLogFigures {
    const functions: Record<string, FunctionFigures> = {};
    for (const [name, acc] of [...this.#functions].sort(([a], [b]) => a.localeCompare(b))) {
      const sorted = [...acc.durations].sort((a, b) => a - b);
      const total = sorted.reduce((a, b) => a + b, 0);
      functions[name] = {
        invocations: sorted.length,
        failed: acc.failed,
        busySeconds: round1(total / 1000),
        meanMs: sorted.length === 0 ? 0 : Math.round(total / sorted.length),
        p50Ms: percentile(sorted, 0.5),
        p95Ms: percentile(sorted, 0.95),
        maxMs: sorted[sorted.length - 1] ?? 0,
        maxConcurrent: acc.maxConcurrent,
        firstStartSeconds: secondsSince(this.#phaseStart, acc.firstStart),
        lastEndSeconds: secondsSince(this.#phaseStart, acc.lastEnd),
      };
    }
    const problems = Object.fromEntries([...this.#problems].sort(([, a], [, b]) => b - a).slice(0, 20));
    return { functions, problems };
  }

  #accumulator(name: string): Accumulator {
    let acc = this.#functions.get(name);
    if (!acc) {
      acc = {
        durations: [],
        failed: 0,
        running: 0,
        maxConcurrent: 0,
        firstStart: Number.POSITIVE_INFINITY,
        lastEnd: 0,
      };
      this.#functions.set(name, acc);
    }
    return acc;
  }
}

/** A message with its ids, numbers and quoted values blanked, so that repeats group together. */
function shapeOf(message: string): string {
  return message
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<id>')
    .replace(/\d+/g, 'N')
    .slice(0, 160);
}

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function secondsSince(start: number, at: number): number {
  return Number.isFinite(at) && at > 0 ? round1((at - start) / 1000) : 0;
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
