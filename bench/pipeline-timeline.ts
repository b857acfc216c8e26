/**
 * A once-a-second timeline of a phase: each queue's approximate message count (visible plus in flight)
 * and each process's CPU use in percent of one core, so a phase can say how deep the backlogs got, how
 * they drained, and which process was busy while they did.
 */
import type { QueueClient } from '@azure/storage-queue';

import { readCpuSeconds } from './pipeline-proc.js';

export interface TimelineSample {
  /** Seconds since the phase began. */
  readonly t: number;
  readonly queues: Record<string, number>;
  /** CPU use since the previous sample, in percent of one core (`otherProcesses`: the rest of the machine). */
  readonly cpu: Record<string, number>;
}

export interface TimelineFigures {
  /** Deepest sample per queue. */
  readonly maxQueueDepth: Record<string, number>;
  /** Mean and highest CPU percent per process over the phase's samples. */
  readonly cpuPercent: Record<string, { readonly mean: number; readonly max: number }>;
  readonly samples: TimelineSample[];
}

export class TimelineSampler {
  readonly #queues: ReadonlyMap<string, QueueClient>;
  readonly #pids: Readonly<Record<string, number | undefined>>;
  readonly #timer: NodeJS.Timeout;
  #phaseStart = Date.now();
  #samples: TimelineSample[] = [];
  #sampling = false;
  #latest: Record<string, number> = {};
  #lastCpu: { at: number; seconds: Record<string, number> } | undefined;

  constructor(
    queues: ReadonlyMap<string, QueueClient>,
    pids: Readonly<Record<string, number | undefined>>,
    intervalMs = 1000,
  ) {
    this.#queues = queues;
    this.#pids = pids;
    this.#timer = setInterval(() => void this.#sample(), intervalMs);
    this.#timer.unref();
  }

  beginPhase(startedAt: number): void {
    this.#phaseStart = startedAt;
    this.#samples = [];
    this.#lastCpu = undefined;
  }

  /** The most recent queue depths (for progress lines). */
  get latestQueueDepths(): Readonly<Record<string, number>> {
    return this.#latest;
  }

  figures(): TimelineFigures {
    const maxQueueDepth: Record<string, number> = {};
    for (const name of this.#queues.keys()) maxQueueDepth[name] = 0;
    const cpuTotals: Record<string, { sum: number; max: number; n: number }> = {};
    for (const sample of this.#samples) {
      for (const [name, depth] of Object.entries(sample.queues))
        maxQueueDepth[name] = Math.max(maxQueueDepth[name] ?? 0, depth);
      for (const [name, percent] of Object.entries(sample.cpu)) {
        const total = (cpuTotals[name] ??= { sum: 0, max: 0, n: 0 });
        total.sum += percent;
        total.max = Math.max(total.max, percent);
        total.n += 1;
      }
    }
    const cpuPercent = Object.fromEntries(
      Object.entries(cpuTotals).map(([name, t]) => [name, { mean: Math.round(t.sum / t.n), max: t.max }]),
    );
    return { maxQueueDepth, cpuPercent, samples: [...this.#samples] };
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #sample(): Promise<void> {
    if (this.#sampling) return;
    this.#sampling = true;
    try {
      const at = Date.now();
      const cpu = this.#cpuSince(at);
      const entries = await Promise.all(
        [...this.#queues].map(async ([name, client]) => {
          try {
            return [name, (await client.getProperties()).approximateMessagesCount ?? 0] as const;
          } catch {
            return [name, -1] as const;
          }
        }),
      );
      const queues = Object.fromEntries(entries);
      this.#latest = queues;
      if (cpu) this.#samples.push({ t: Math.round((at - this.#phaseStart) / 100) / 10, queues, cpu });
    } finally {
      this.#sampling = false;
    }
  }

  /** CPU percent of each process since the last call (undefined on the first call of a phase). */
  #cpuSince(at: number): Record<string, number> | undefined {
    const seconds = readCpuSeconds(this.#pids);
    const previous = this.#lastCpu;
    this.#lastCpu = { at, seconds };
    if (!previous) return undefined;
    const elapsed = (at - previous.at) / 1000;
    return Object.fromEntries(
      Object.entries(seconds).map(([name, used]) => [
        name,
        Math.round(((used - (previous.seconds[name] ?? used)) / elapsed) * 100),
      ]),
    );
  }
}
