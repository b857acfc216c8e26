/**
 * What the bench reads about processes from Linux's /proc: resident memory (current and peak) and CPU
 * time, for the local Functions host, Azurite and the bench itself (which also runs the stand-in).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Linux reports utime/stime in clock ticks of USER_HZ, which is 100 on every mainstream kernel. */
const CLOCK_TICKS_PER_SECOND = 100;

export interface MemoryReading {
  readonly rssMb: number;
  /** VmHWM: the process's peak resident set since it started. */
  readonly peakRssMb: number;
}

/** The process's memory, or undefined once it has exited. */
export function readMemory(pid: number): MemoryReading | undefined {
  const status = readProc(`/proc/${pid}/status`);
  if (status === undefined) return undefined;
  const kib = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  return { rssMb: kib('VmRSS') / 1024, peakRssMb: kib('VmHWM') / 1024 };
}

/** User + system CPU seconds the process has used, or undefined once it has exited. */
export function cpuSecondsOf(pid: number): number | undefined {
  if (pid === process.pid) {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1e6;
  }
  const fields = statFields(pid);
  if (!fields) return undefined;
  // After the command name: state is field 3, so utime (field 14) and stime (field 15) are at 11 and 12.
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** CPU seconds all processes on the machine have used (busy time of every core, from /proc/stat). */
export function machineBusySeconds(): number | undefined {
  const line = readProc('/proc/stat')?.split('\n', 1)[0];
  if (!line?.startsWith('cpu ')) return undefined;
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return (
    ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) /
    CLOCK_TICKS_PER_SECOND
  );
}

/**
 * CPU seconds used so far by each named process, plus `otherProcesses`: what every other process on the
 * machine used (other work sharing the cores skews a benchmark, so it is measured, not assumed away).
 */
export function readCpuSeconds(pids: Readonly<Record<string, number | undefined>>): Record<string, number> {
  const readings: Record<string, number> = {};
  let ours = 0;
  for (const [name, pid] of Object.entries(pids)) {
    const seconds = pid === undefined ? undefined : cpuSecondsOf(pid);
    if (seconds === undefined) continue;
    readings[name] = seconds;
    ours += seconds;
  }
  const machine = machineBusySeconds();
  if (machine !== undefined) readings.otherProcesses = machine - ours;
  return readings;
}

/** The first child of `parent` whose command line contains `marker` (e.g. Azurite's entry script). */
export function findChildProcess(parent: number, marker: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const fields = statFields(pid);
    if (!fields || Number(fields[1]) !== parent) continue;
    const cmdline = readProc(`/proc/${pid}/cmdline`)?.split('\0').join(' ') ?? '';
    if (cmdline.includes(marker)) return pid;
  }
  return undefined;
}

/** Fields of /proc/<pid>/stat after the `(comm)` field: [state, ppid, …]. */
function statFields(pid: number): string[] | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  return stat
    .slice(stat.lastIndexOf(')') + 2)
    .trim()
    .split(/\s+/);
}

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Samples a process's memory every `intervalMs` (the brief asks for 250 ms): VmHWM gives the peak even
 * between samples; the largest VmRSS seen is kept per phase.
 */
export class MemorySampler {
  readonly #pid: number;
  readonly #timer: NodeJS.Timeout;
  #peakRssMb = 0;
  #phaseMaxRssMb = 0;

  constructor(pid: number, intervalMs = 250) {
    this.#pid = pid;
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
    this.sample();
  }

  sample(): void {
    const reading = readMemory(this.#pid);
    if (!reading) return;
    this.#peakRssMb = Math.max(this.#peakRssMb, reading.peakRssMb, reading.rssMb);
    this.#phaseMaxRssMb = Math.max(this.#phaseMaxRssMb, reading.rssMb);
  }

  /** Starts a phase: its largest sampled RSS starts from zero. */
  beginPhase(): void {
    this.#phaseMaxRssMb = 0;
  }

  /** The peak since the process started (VmHWM) and the largest RSS sampled in the current phase. */
  read(): { peakRssMb: number; phaseMaxRssMb: number } {
    this.sample();
    return { peakRssMb: round1(this.#peakRssMb), phaseMaxRssMb: round1(this.#phaseMaxRssMb) };
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/** CPU seconds a set of named processes used between `begin()` and `end()`. */
export class CpuMeter {
  readonly #pids: Readonly<Record<string, number | undefined>>;
  #start: Record<string, number> = {};

  constructor(pids: Readonly<Record<string, number | undefined>>) {
    this.#pids = pids;
  }

  begin(): void {
    this.#start = readCpuSeconds(this.#pids);
  }

  /** CPU seconds per process since `begin()`, `otherProcesses` included. */
  end(): Record<string, number> {
    const now = readCpuSeconds(this.#pids);
    return Object.fromEntries(
      Object.entries(now).map(([name, seconds]) => [name, round1(seconds - (this.#start[name] ?? 0))]),
    );
  }
}

export function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
