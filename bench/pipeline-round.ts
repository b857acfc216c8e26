/**
 * One measured round: reset the stand-in's counters, request the round, wait for its run to finish, and
 * read what it cost (wall time from the request to the run's endedAt, Graph requests, writes from the run
 * row) and where the time went (host invocations, queue depths, CPU per process, host memory).
 */
import type { LocalEnvironment } from '../local/environment/local-environment.js';
import { waitForRun } from '../local/environment/run-watcher.js';
import type { Row } from '../src/adapters/storage/table-gateway.js';
import { RUN_OUTCOMES } from '../src/domain/person-plan.js';
import type { RunSummary } from '../src/usecases/describe-runs.js';
import type { Trigger } from '../src/usecases/messages.js';
import { requestSync } from '../src/usecases/request-sync.js';
import { type GraphCounts, graphCountsOf } from './pipeline-graph-counts.js';
import type { FunctionFigures, HostLogStats } from './pipeline-host-log.js';
import type { CpuMeter, MemorySampler } from './pipeline-proc.js';
import type { TimelineFigures, TimelineSampler } from './pipeline-timeline.js';

export interface RoundProbes {
  readonly env: LocalEnvironment;
  readonly hostLog: HostLogStats;
  readonly timeline: TimelineSampler;
  readonly memory: MemorySampler;
  readonly cpu: CpuMeter;
  /** The round is given up (state `timed-out`, figures as they stood) at this time (epoch ms). */
  readonly deadline: number;
  readonly say: (line: string) => void;
}

export interface RoundFigures extends Omit<GraphCounts, 'deltaPages'> {
  readonly runId: string;
  readonly trigger: string;
  readonly full: boolean;
  /** The run's state, or `timed-out` when the deadline came first. */
  readonly state: string;
  /** From the request to the run's endedAt (to the deadline when timed out). */
  readonly seconds: number;
  /** When the fetch invocation (the delta round) ended, from the request. */
  readonly fetchDoneSeconds: number;
  readonly counts: Record<string, number>;
  readonly deltaPages: { readonly users: number; readonly groups: number };
  /** Entity writes to the directory tables (run.directoryWrites). */
  readonly tableEntityWrites: number;
  /** Writes to runs, syncState (incl. locks), runErrors (run.bookkeepingWrites). */
  readonly bookkeepingWrites: number;
  readonly tableTransactions: number;
  readonly chunks: number;
  readonly errors: number;
  readonly errorSamples: string[];
  readonly cpuSeconds: Record<string, number>;
  readonly hostRss: { readonly peakRssMb: number; readonly phaseMaxRssMb: number };
  /**
   * Chunks the run published and chunks reconciled (successful reconcile invocations in the host's log):
   * a round that timed out is this far along.
   */
  readonly chunksReconciled: number;
  readonly timeline: TimelineFigures;
  readonly functions: Record<string, FunctionFigures>;
  readonly problems: Record<string, number>;
}

/**
 * An admin's "sync now", `POST /api/connections/{tenantId}/sync` with the function key: how a manual round
 * is asked for in the product (its request leaves through the output binding, so the host wakes the
 * fetcher at once; a message put in the queue from outside waits for the listener's next poll, up to
 * `maxPollingInterval`).
 */
export function syncNowThroughApi(env: LocalEnvironment): () => Promise<void> {
  return async () => {
    const response = await fetch(`${env.host().httpBaseUrl}/api/connections/${env.tenantId}/sync`, {
      method: 'POST',
      headers: { 'x-functions-key': env.functionKey, 'content-type': 'application/json' },
      body: '{}',
    });
    const text = await response.text();
    if (response.status !== 202)
      throw new Error(`sync-now answered ${response.status}: ${text.slice(0, 500)}`);
  };
}

export async function measureRound(
  probes: RoundProbes,
  name: string,
  trigger: Trigger,
  /** What starts the round (a sync request of `trigger` by default; a settings save for a re-projection). */
  start?: () => Promise<void>,
): Promise<RoundFigures> {
  const { env } = probes;
  const runs = env.services.deps().runs;
  const previous = (await runs.list(env.tenantId, 1))[0]?.rowKey;
  env.standin.control.resetCounters();
  const startedAt = Date.now();
  probes.hostLog.beginPhase(startedAt);
  probes.timeline.beginPhase(startedAt);
  probes.memory.beginPhase();
  probes.cpu.begin();
  if (start) await start();
  else await requestSync(env.services.deps(), env.tenantId, trigger);
  let lastProgress = startedAt;
  let summary: RunSummary | undefined;
  try {
    summary = await waitForRun(env.services, env.tenantId, {
      ...(previous ? { afterRunKey: previous } : {}),
      timeoutMs: Math.max(0, probes.deadline - Date.now()),
      pollMs: 250,
      onProgress: (row) => {
        if (Date.now() - lastProgress < 10_000) return;
        lastProgress = Date.now();
        probes.say(progressLine(name, startedAt, row, probes));
      },
    });
  } catch (error) {
    // Past the deadline: report the round as it stands. Anything else is a real failure.
    if (Date.now() <= probes.deadline) throw error;
  }
  const counters = env.standin.control.counters();
  const cpuSeconds = probes.cpu.end();
  const row = (await runs.list(env.tenantId, 1))[0];
  if (!row || (previous !== undefined && row.rowKey >= previous))
    throw new Error(`${name}: no run started before the deadline`);
  if (summary && row.runId !== summary.runId)
    throw new Error(`${name}: the run row of ${summary.runId} is gone`);
  const endedAt = summary?.endedAt ? Date.parse(summary.endedAt) : Date.now();
  const host = probes.hostLog.figures();
  return {
    runId: String(row.runId),
    trigger: String(row.trigger),
    full: row.full === true,
    state: summary?.state ?? 'timed-out',
    seconds: round2((endedAt - startedAt) / 1000),
    fetchDoneSeconds: host.functions.fetch?.lastEndSeconds ?? 0,
    counts: Object.fromEntries(RUN_OUTCOMES.map((outcome) => [outcome, Number(row[outcome] ?? 0)])),
    chunksReconciled: (host.functions.reconcile?.invocations ?? 0) - (host.functions.reconcile?.failed ?? 0),
    ...graphCountsOf(counters),
    tableEntityWrites: Number(row.directoryWrites ?? 0),
    bookkeepingWrites: Number(row.bookkeepingWrites ?? 0),
    tableTransactions: Number(row.transactions ?? 0),
    chunks: Number(row.chunksTotal ?? 0),
    errors: Number(row.errors ?? 0),
    errorSamples: (summary?.errors ?? [])
      .slice(0, 5)
      .map((e) => `${e.category}: ${e.objectId ?? '-'} ${e.message}`.slice(0, 200)),
    cpuSeconds,
    hostRss: probes.memory.read(),
    timeline: probes.timeline.figures(),
    functions: host.functions,
    problems: host.problems,
  };
}

/** Progress as the host's log and the queues show it (a run's counts may only be summed at its end). */
function progressLine(name: string, startedAt: number, row: Row, probes: RoundProbes): string {
  const total = Number(row.chunksTotal);
  const { functions } = probes.hostLog.figures();
  const queues = Object.entries(probes.timeline.latestQueueDepths)
    .filter(([, depth]) => depth > 0)
    .map(([queue, depth]) => `${queue} ${depth}`)
    .join(', ');
  const fetching = functions.fetch && functions.fetch.invocations > 0 ? 'fetched' : 'fetching';
  return (
    `[${name} ${Math.round((Date.now() - startedAt) / 1000)} s] ${fetching}, chunks published ` +
    `${total < 0 ? '?' : total}, reconcile invocations done ${functions.reconcile?.invocations ?? 0}` +
    (queues ? `, queues: ${queues}` : '')
  );
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
