/** The bench's results (written as JSON) and its printed report: headline figures, then where time went. */
import type { GraphLatencyModel } from '../local/standin/faults/fault-plan.js';
import type { BaselineFigures } from './pipeline-baseline.js';
import type { ChangeKind } from './pipeline-changes.js';
import type { FunctionFigures } from './pipeline-host-log.js';
import type { PreviewFigures } from './pipeline-preview.js';
import type { RoundFigures } from './pipeline-round.js';
import type { ChunkScanFigures } from './pipeline-scan-probe.js';

export interface FullSyncFigures extends RoundFigures {
  /** Users / seconds; null when the round timed out (see chunksReconciled / chunks). */
  readonly usersPerSecond: number | null;
  /** Delta pages the stand-in served in the round (users + groups): no round can ask for fewer. */
  readonly minGraphRequests: number;
  readonly expectedUserDeltaPages: number;
  /** The host's peak RSS (VmHWM) at the end of the full sync. */
  readonly peakRssMb: number;
  /** tableEntityWrites / seconds; null when the round timed out. */
  readonly effectiveWriteRate: number | null;
  /** effectiveWriteRate / storageBaseline.entitiesPerSecond (the baseline in a fresh Azurite of its own). */
  writeRateRatio: number;
  /** effectiveWriteRate / storageBaselineAfterSync.entitiesPerSecond (the baseline beside the pipeline's rows). */
  writeRateRatioAfterSync: number;
  /**
   * The highest writeRateRatio this machine's cores allow for the CPU the sync's processes needed (host,
   * Azurite, stand-in): the sync's writes over its CPU-seconds spread perfectly over every core, divided by
   * the baseline's rate. A ratio above it needs less CPU, not better overlap; 0 without a baseline.
   */
  writeRateCeiling: number;
  /**
   * The sum of the latencies the stand-in injected on the round's Graph requests (`--graph-latency`): the
   * fetch sends them one after another, so no sync can be faster than this. 0 without a latency model.
   */
  readonly graphBoundSeconds: number;
  /** seconds / graphBoundSeconds (1 = the sync takes exactly as long as Graph makes it); null without latency. */
  readonly graphBoundRatio: number | null;
}

export type IncrementalFigures = RoundFigures & {
  readonly changes: number;
  readonly mix: Record<ChangeKind, number>;
};

export interface BenchResults {
  readonly users: number;
  readonly groups: number;
  readonly seed: number;
  readonly machine: { readonly cpus: number; readonly node: string; readonly loadAverageAtStart: number[] };
  readonly host: {
    readonly batchSize: number;
    readonly newBatchThreshold: number;
    readonly concurrency: number;
  };
  readonly standin: {
    readonly userDeltaPageSize: number;
    readonly usersInDirectory: number;
    /** The stand-in's latency model (null: none). */
    readonly graphLatency: GraphLatencyModel | null;
  };
  fullSync?: FullSyncFigures;
  chunkScan?: ChunkScanFigures;
  /** The pipeline's entities written into a fresh Azurite of their own (same keys, batches, concurrency). */
  storageBaseline?: BaselineFigures;
  /** The same, into `<table>Baseline` tables of the pipeline's Azurite after the sync (the former figure). */
  storageBaselineAfterSync?: BaselineFigures;
  /** The first incremental round after the full sync: its code paths run for the first time in each process. */
  incremental?: IncrementalFigures;
  /** The next one, after as many other changes: an incremental round of a host that has served one. */
  incrementalSteady?: IncrementalFigures;
  noop?: RoundFigures;
  /** Everyone planned again from the mirror after a settings change: no Graph request. */
  reproject?: RoundFigures;
  /** A settings preview through the HTTP route: seconds to the answer, Graph requests (0). */
  preview?: PreviewFigures;
  processes?: {
    readonly hostPeakRssMb: number;
    readonly azuritePeakRssMb: number | null;
    readonly benchAndStandinPeakRssMb: number;
  };
  /** Phases not run because the time ran out or an earlier round did not finish. */
  readonly skipped: string[];
  benchSeconds?: number;
  error?: string;
}

type Say = (line: string) => void;

export function printReport(results: BenchResults, say: Say): void {
  const { fullSync: full, storageBaseline: base, incremental: inc, noop, chunkScan: scan } = results;
  const table: Record<string, { value: string | number }> = {};
  const add = (label: string, value: string | number | null): void =>
    void (table[label] = { value: value ?? 'n/a' });
  if (full) {
    add(
      'full sync: state',
      full.state === 'timed-out'
        ? `timed-out, ${full.chunksReconciled}/${full.chunks} chunks reconciled`
        : full.state,
    );
    add('full sync: seconds (request → run endedAt)', full.seconds);
    add('full sync: users/s', full.usersPerSecond);
    add(
      'full sync: Graph requests / minimum (delta pages)',
      `${full.graphRequests} / ${full.minGraphRequests}`,
    );
    add(
      'full sync: table entity writes / transactions',
      `${full.tableEntityWrites} / ${full.tableTransactions}`,
    );
    add('full sync: effective write rate (entities/s)', full.effectiveWriteRate);
    add('full sync: host peak RSS (MB)', full.peakRssMb);
    const latency = results.standin.graphLatency;
    add(
      'full sync: Graph-bound seconds (injected latency)',
      latency
        ? `${full.graphBoundSeconds} (${latency.baseMs} ms + ${latency.perObjectMs} ms/object ± ${latency.jitterMs} ms)`
        : 'n/a (no --graph-latency)',
    );
    add('full sync: seconds / Graph-bound seconds', full.graphBoundRatio);
    add('full sync: counts', countsText(full.counts));
  }
  const baselineText = (b: BaselineFigures): string =>
    `${b.entitiesPerSecond} (${b.entities} in ${b.seconds} s, ${b.concurrency} batches in flight` +
    `${b.partial ? ', cut by the deadline' : ''})`;
  if (base) {
    add('storage baseline, fresh Azurite (entities/s)', baselineText(base));
    if (full) {
      add('full sync: write rate / baseline', full.writeRateRatio);
      add("full sync: the most this machine's cores allow for its CPU", full.writeRateCeiling);
    }
  }
  if (results.storageBaselineAfterSync) {
    add(
      'storage baseline after sync, same Azurite (entities/s)',
      baselineText(results.storageBaselineAfterSync),
    );
    if (full) add('full sync: write rate / baseline after sync', full.writeRateRatioAfterSync);
  }
  if (scan)
    add(
      'scan of one bucket (directory tables)',
      `${scan.rowsPerBucket} rows in ${scan.msPerBucket} ms (${scan.rowsPerSecond} rows/s)`,
    );
  for (const [label, round] of [
    ['incremental', inc],
    ['incremental, steady', results.incrementalSteady],
  ] as const) {
    if (!round) continue;
    add(`${label} (${round.changes} changes): state / seconds`, `${round.state} / ${round.seconds}`);
    add(`${label}: Graph requests / entity writes`, `${round.graphRequests} / ${round.tableEntityWrites}`);
    add(`${label}: counts`, countsText(round.counts));
  }
  if (results.reproject) {
    const r = results.reproject;
    add('re-projection: state / seconds', `${r.state} / ${r.seconds}`);
    add('re-projection: Graph requests / entity writes', `${r.graphRequests} / ${r.tableEntityWrites}`);
  }
  if (results.preview) {
    const p = results.preview;
    add('preview: seconds / Graph requests', `${p.seconds} / ${p.graphRequests}`);
    add('preview: users planned / gate', `${p.usersPlanned} / ${p.gate}`);
    add('preview: counts', countsText(p.counts));
  }
  if (noop) {
    add('no-op: state / seconds', `${noop.state} / ${noop.seconds}`);
    add('no-op: Graph requests / entity writes', `${noop.graphRequests} / ${noop.tableEntityWrites}`);
  }
  say('');
  say(`Pipeline benchmark: ${results.users} users, ${results.groups} groups`);
  console.table(table);
  if (full) printWhereTimeWent('full sync', full, say);
  if (inc) printWhereTimeWent('incremental', inc, say);
  if (results.incrementalSteady) printWhereTimeWent('incremental, steady', results.incrementalSteady, say);
  if (noop) printWhereTimeWent('no-op', noop, say);
  if (results.reproject) printWhereTimeWent('re-projection', results.reproject, say);
  if (results.skipped.length > 0) say(`skipped: ${results.skipped.join(', ')}`);
  if (results.error) say(`error: ${results.error}`);
}

function printWhereTimeWent(name: string, round: RoundFigures, say: Say): void {
  const { timeline } = round;
  say('');
  say(
    `${name}: ${round.state} in ${round.seconds} s (fetch invocation ended at ${round.fetchDoneSeconds} s), ` +
      `${round.chunks} chunks`,
  );
  say(`  CPU seconds: ${entriesText(round.cpuSeconds)}`);
  say(
    `  CPU % of one core, mean/max: ${Object.entries(timeline.cpuPercent)
      .map(([process, cpu]) => `${process} ${cpu.mean}/${cpu.max}`)
      .join(', ')}`,
  );
  say(`  deepest queues: ${entriesText(timeline.maxQueueDepth)}`);
  const rows: Record<string, Omit<FunctionFigures, 'meanMs'>> = {};
  for (const [fn, figures] of Object.entries(round.functions)) {
    const { meanMs: _meanMs, ...rest } = figures;
    rows[fn] = rest;
  }
  if (Object.keys(rows).length > 0) console.table(rows);
  const samples = timeline.samples;
  if (samples.length > 12) {
    say('  timeline (s: directory-changes, run-events depth; CPU % host, azurite, bench, other processes):');
    const step = Math.ceil(samples.length / 12);
    for (let i = 0; i < samples.length; i += step) {
      const s = samples[i]!;
      say(
        `    ${s.t}: ${s.queues['directory-changes'] ?? 0}, ${s.queues['run-events'] ?? 0}; ` +
          `${s.cpu.host ?? 0}, ${s.cpu.azurite ?? 0}, ${s.cpu.benchAndStandin ?? 0}, ${s.cpu.otherProcesses ?? 0}`,
      );
    }
  }
  for (const [problem, count] of Object.entries(round.problems).slice(0, 8)) say(`  ${count} × ${problem}`);
  for (const error of round.errorSamples) say(`  run error: ${error}`);
}

function entriesText(values: Record<string, number>): string {
  const parts = Object.entries(values)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

function countsText(counts: Record<string, number>): string {
  return entriesText(counts);
}
