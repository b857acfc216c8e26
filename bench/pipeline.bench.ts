/**
 * Pipeline benchmark: the whole pipeline (Azurite, the Graph stand-in, the local Functions host in its own
 * process) on a generated tenant, in one run:
 *
 * 1. full sync (the initial round): seconds from the request to the run's endedAt, users/s, Graph
 *    requests against the minimum (the delta pages the stand-in served), entity writes and transactions
 *    (from the run row), the host's peak RSS (VmHWM, sampled every 250 ms);
 * 2. storage baseline: the same entities upserted straight in batch transactions of 100, as many in flight
 *    as the host runs queue invocations (batchSize + newBatchThreshold), into a fresh Azurite of their own
 *    (`storageBaseline`: neither side slowed by the other's rows) and, as before, into `<table>Baseline`
 *    tables of the pipeline's Azurite after the sync (`storageBaselineAfterSync`); both ratios come from
 *    this one run;
 * 3. incremental: K random tenant changes, then a manual round (an admin's `POST …/sync`);
 * 4. no-op: one more round with nothing changed (`POST …/sync` again);
 * 5. re-projection: a settings change, everyone planned again from the mirror (no Graph request);
 * 6. preview: what a further settings change would do, answered by the HTTP route from the mirror alone
 *    (`preview.seconds`, `preview.graphRequests`: 0).
 *
 * Where the time goes comes with it: per function invocations and durations from the host's log, a
 * once-a-second timeline of queue depths and CPU use (host, Azurite, this process, which runs the
 * stand-in), and what one reconcile chunk pays to scan its bucket at the tenant's final size.
 *
 * The whole bench stops at `--max-minutes` (default 15): a round still running then is reported as
 * `timed-out` with its figures as they stood, the later phases are skipped, and the exit code is 1.
 *
 * With `--graph-latency realistic` the stand-in answers like Graph in Azure (~270 ms a 200-user delta page,
 * local/README.md), and `fullSync.graphBoundSeconds` (the latency it injected on the fetch's sequential Graph
 * requests) says how much of the sync Graph alone accounts for: `graphBoundRatio` = seconds / that.
 *
 *   npm run bench -- --users 20000 [--groups G] [--changes 100] [--seed 1] --out bench.json
 *                    [--max-minutes 15] [--host-log host.jsonl] [--graph-latency realistic]
 *
 * `npm run bench -- --notifications 200 [--users 500] [--per-second 5]` runs the notification bench
 * instead (bench/pipeline-notifications.ts): change → people row latency through the webhook.
 */
import { createWriteStream, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

import type { QueueClient } from '@azure/storage-queue';
import { Command, Option } from 'commander';

import { startAzurite } from '../local/azurite/embedded-azurite.js';
import { positiveInt } from '../local/cli-numbers.js';
import { type LocalEnvironment, startLocalEnvironment } from '../local/environment/local-environment.js';
import { readHostConfig } from '../local/host/host-config.js';
import { poisonQueueOf, QUEUES } from '../src/adapters/storage/storage-names.js';
import { ensureError } from '../src/shared/errors.js';
import { requestReproject } from '../src/usecases/request-sync.js';
import { dropAfterSyncTables, readBaselineEntities, writeBaseline } from './pipeline-baseline.js';
import { planChanges } from './pipeline-changes.js';
import { HostLogStats } from './pipeline-host-log.js';
import { benchNotifications } from './pipeline-notifications.js';
import { measurePreview } from './pipeline-preview.js';
import { CpuMeter, findChildProcess, MemorySampler, readMemory, round1 } from './pipeline-proc.js';
import { type BenchResults, printReport } from './pipeline-report.js';
import { measureRound, type RoundProbes, syncNowThroughApi } from './pipeline-round.js';
import { measureChunkScan } from './pipeline-scan-probe.js';
import { TimelineSampler } from './pipeline-timeline.js';

/** Users per `/users/delta` page, set explicitly so the minimum number of pages is known. */
const USER_DELTA_PAGE_SIZE = 200;
/** Time kept back from the deadline to read the last figures, write the results and stop everything. */
const WIND_DOWN_MS = 30_000;

const options = new Command()
  .name('npm run bench --')
  .description('Measures the pipeline end to end: full sync, storage baseline, incremental and no-op rounds.')
  .option(
    '--users <n>',
    'users in the simulated tenant (required, but 500 with --notifications)',
    positiveInt,
  )
  .option(
    '--notifications <n>',
    'instead: the notification bench, n tenant changes spread over time, each timed to its people row',
    positiveInt,
  )
  .option('--per-second <n>', 'with --notifications: changes a second', positiveInt, 5)
  .option('--groups <n>', 'groups in the simulated tenant (default users / 20)', positiveInt)
  .option('--changes <n>', 'random tenant changes before the incremental round', positiveInt, 100)
  .option('--seed <n>', 'seed of the tenant and of the changes', positiveInt, 1)
  .option('--out <file>', 'write the results as JSON (required, but optional with --notifications)')
  .option('--max-minutes <n>', 'stop the whole bench after this long', positiveInt, 15)
  .option('--host-log <file>', "write the host's log lines (JSON) to this file")
  .addOption(
    new Option(
      '--graph-latency <model>',
      "the stand-in's Graph answer times: none, or realistic (see local/README.md)",
    )
      .choices(['none', 'realistic'])
      .default('none'),
  )
  .parse()
  .opts<{
    users?: number;
    notifications?: number;
    perSecond: number;
    groups?: number;
    changes: number;
    seed: number;
    out?: string;
    maxMinutes: number;
    hostLog?: string;
    graphLatency: 'none' | 'realistic';
  }>();

const say = (line: string): void => void process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  if (options.notifications !== undefined) {
    const results = await benchNotifications({
      notifications: options.notifications,
      users: options.users ?? 500,
      seed: options.seed,
      perSecond: options.perSecond,
      say,
    });
    say(JSON.stringify(results));
    if (options.out) writeFileSync(options.out, `${JSON.stringify(results, null, 2)}\n`);
    return results.notifications.lost === 0 ? 0 : 1;
  }
  if (options.users === undefined || options.out === undefined) {
    say('--users and --out are required (or --notifications n)');
    return 2;
  }
  return benchPipeline(options.users, options.out);
}

async function benchPipeline(users: number, out: string): Promise<number> {
  const benchStarted = Date.now();
  const deadline = benchStarted + options.maxMinutes * 60_000 - WIND_DOWN_MS;
  const hostLog = new HostLogStats();
  const hostLogFile = options.hostLog ? createWriteStream(options.hostLog) : undefined;
  say(`Starting Azurite, the stand-in (${users} users) and the local Functions host…`);
  const env = await startLocalEnvironment({
    standin: {
      users: users,
      seed: options.seed,
      deltaPageSize: USER_DELTA_PAGE_SIZE,
      faults: { graphLatency: options.graphLatency },
      ...(options.groups !== undefined ? { groups: options.groups } : {}),
    },
    // Only the bench's own requests start rounds.
    schedule: { kind: 'manual' },
    onHostEvent: (event) => {
      hostLog.record(event);
      hostLogFile?.write(`${JSON.stringify(event)}\n`);
    },
  });
  // The photo pass that follows a full run would download every photo while the incremental and no-op
  // rounds are measured: it is off here, so the figures stay the sync's (the photo tests cover it).
  const connection = (await env.services.deps().connections.get(env.tenantId))!;
  await env.services.deps().connections.save(
    {
      ...connection.settings,
      policy: { ...connection.settings.policy, photos: { enabled: false, schedule: null } },
    },
    null,
  );
  const host = env.host();
  const pids = {
    host: host.pid,
    azurite: findChildProcess(process.pid, 'azurite'),
    benchAndStandin: process.pid,
  };
  const memory = new MemorySampler(host.pid, 250);
  const timeline = new TimelineSampler(queueClients(env), pids, 1000);
  const probes: RoundProbes = { env, hostLog, timeline, memory, cpu: new CpuMeter(pids), deadline, say };
  const { queues: queueConfig } = await readHostConfig(env.root);
  const concurrency = queueConfig.batchSize + queueConfig.newBatchThreshold;
  const initial = env.standin.control.snapshot();
  const results: BenchResults = {
    users: users,
    groups: initial.groups.length,
    seed: options.seed,
    machine: { cpus: cpus().length, node: process.version, loadAverageAtStart: loadavg().map(round1) },
    host: { batchSize: queueConfig.batchSize, newBatchThreshold: queueConfig.newBatchThreshold, concurrency },
    standin: {
      userDeltaPageSize: USER_DELTA_PAGE_SIZE,
      usersInDirectory: initial.users.length,
      graphLatency: env.standin.control.faults().graphLatency,
    },
    skipped: [],
  };
  const outOfTime = (): boolean => Date.now() >= deadline;
  let exitCode = 0;
  try {
    say(`Full sync of ${users} users, ${initial.groups.length} groups…`);
    const full = await measureRound(probes, 'fullSync', 'initial');
    const timedOut = full.state === 'timed-out';
    const effectiveWriteRate = full.seconds > 0 ? full.tableEntityWrites / full.seconds : 0;
    const expectedUserPages = Math.ceil(initial.users.length / USER_DELTA_PAGE_SIZE);
    results.fullSync = {
      ...full,
      usersPerSecond: timedOut ? null : Math.round(users / full.seconds),
      minGraphRequests: full.deltaPages.users + full.deltaPages.groups,
      expectedUserDeltaPages: expectedUserPages,
      peakRssMb: full.hostRss.peakRssMb,
      effectiveWriteRate: timedOut ? null : Math.round(effectiveWriteRate),
      writeRateRatio: 0,
      writeRateRatioAfterSync: 0,
      writeRateCeiling: 0,
      graphBoundSeconds: round2(full.graphLatencySeconds),
      graphBoundRatio:
        timedOut || full.graphLatencySeconds === 0 ? null : round2(full.seconds / full.graphLatencySeconds),
    };
    if (!timedOut && full.deltaPages.users !== expectedUserPages)
      say(`note: the stand-in served ${full.deltaPages.users} user pages, ${expectedUserPages} expected`);

    if (!timedOut && !outOfTime()) {
      results.chunkScan = await measureChunkScan({
        connectionString: env.azurite.connectionString,
        tenantId: env.tenantId,
        buckets: env.services.settings.SYNC_BUCKETS,
      });
      const entities = await readBaselineEntities({
        connectionString: env.azurite.connectionString,
        tenantId: env.tenantId,
      });
      say(
        `Storage baseline: the same entities into a fresh Azurite, ${concurrency} batch transactions in flight…`,
      );
      const freshAzurite = await startAzurite();
      try {
        results.storageBaseline = await writeBaseline(entities, {
          connectionString: freshAzurite.connectionString,
          target: 'fresh',
          concurrency,
          deadline,
        });
      } finally {
        await freshAzurite.stop();
      }
      say(
        "Storage baseline after the sync: the same entities into <table>Baseline, in the pipeline's Azurite…",
      );
      results.storageBaselineAfterSync = await writeBaseline(entities, {
        connectionString: env.azurite.connectionString,
        target: 'after-sync',
        concurrency,
        deadline,
      });
      await dropAfterSyncTables(env.azurite.connectionString);
      results.fullSync.writeRateRatio = ratio(effectiveWriteRate, results.storageBaseline.entitiesPerSecond);
      const { host, azurite, benchAndStandin } = full.cpuSeconds;
      const cpuBoundSeconds = ((host ?? 0) + (azurite ?? 0) + (benchAndStandin ?? 0)) / cpus().length;
      results.fullSync.writeRateCeiling =
        cpuBoundSeconds > 0
          ? ratio(full.tableEntityWrites / cpuBoundSeconds, results.storageBaseline.entitiesPerSecond)
          : 0;
      results.fullSync.writeRateRatioAfterSync = ratio(
        effectiveWriteRate,
        results.storageBaselineAfterSync.entitiesPerSecond,
      );
    } else results.skipped.push('chunkScan', 'storageBaseline', 'storageBaselineAfterSync');

    // Two incremental rounds of as many changes: the first after the full sync runs each process's
    // incremental code paths for the first time; the second is a round of a host that has served one.
    for (const [name, seed] of [
      ['incremental', options.seed],
      ['incrementalSteady', options.seed + 1],
    ] as const) {
      const previous = name === 'incremental' ? results.fullSync : results.incremental;
      if (!previous || previous.state === 'timed-out' || outOfTime()) {
        results.skipped.push(name);
        continue;
      }
      const plan = planChanges(env.standin.control.snapshot(), options.changes, seed);
      env.standin.control.bulk(plan.operations);
      say(`Incremental round after ${options.changes} changes (${mixText(plan.mix)})…`);
      results[name] = {
        changes: options.changes,
        mix: plan.mix,
        ...(await measureRound(probes, name, 'manual', syncNowThroughApi(env))),
      };
    }

    if (results.incrementalSteady && results.incrementalSteady.state !== 'timed-out' && !outOfTime()) {
      say('No-op round…');
      results.noop = await measureRound(probes, 'noop', 'manual', syncNowThroughApi(env));
    } else results.skipped.push('noop');

    if (results.noop && results.noop.state !== 'timed-out' && !outOfTime()) {
      say('Re-projection after a settings change (a new email rule and a field written only if empty)…');
      results.reproject = await measureRound(probes, 'reproject', 'settings', async () => {
        const deps = env.services.deps();
        const current = (await deps.connections.get(env.tenantId))!.settings;
        const { scope } = current.policy;
        await deps.connections.save(
          {
            ...current,
            version: current.version + 1,
            policy: {
              ...current.policy,
              scope: { ...scope, emailExclude: [...scope.emailExclude, 'no-such-address.example'] },
              fieldWrites: { ...current.policy.fieldWrites, officeLocation: 'if-empty' },
            },
          },
          null,
        );
        await requestReproject(deps, env.tenantId);
      });
    } else results.skipped.push('reproject');

    if (results.reproject && results.reproject.state !== 'timed-out' && !outOfTime()) {
      say('Preview of a settings change (three scope groups and a mapping), from the mirror alone…');
      results.preview = await measurePreview(env);
    } else results.skipped.push('preview');

    results.processes = {
      hostPeakRssMb: memory.read().peakRssMb,
      azuritePeakRssMb: pids.azurite === undefined ? null : round1(readMemory(pids.azurite)?.peakRssMb ?? 0),
      benchAndStandinPeakRssMb: round1(readMemory(process.pid)?.peakRssMb ?? 0),
    };
    const rounds = [
      results.fullSync,
      results.incremental,
      results.incrementalSteady,
      results.noop,
      results.reproject,
    ];
    if (rounds.some((round) => round && (round.state === 'failed' || round.state === 'timed-out')))
      exitCode = 1;
    if (results.skipped.length > 0) exitCode = 1;
    if (results.preview && results.preview.graphRequests !== 0) exitCode = 1;
  } catch (error) {
    results.error = ensureError(error).message;
    say(`bench failed: ${ensureError(error).message}`);
    exitCode = 1;
  } finally {
    memory.stop();
    timeline.stop();
    results.benchSeconds = Math.round((Date.now() - benchStarted) / 1000);
    printReport(results, say);
    writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
    say(`Results written to ${out} (bench ${results.benchSeconds} s).`);
    // Out of time: no waiting for the host's running invocations, the environment is thrown away anyway.
    if (outOfTime()) await host.kill();
    await env.stop();
    hostLogFile?.end();
  }
  return exitCode;
}

/** The pipeline's queues and their -poison twins, by name. */
function queueClients(env: LocalEnvironment): Map<string, QueueClient> {
  const gateway = env.services.deps().queues;
  const clients = new Map<string, QueueClient>();
  for (const name of [QUEUES.syncRequests, QUEUES.directoryChanges, QUEUES.runEvents]) {
    clients.set(name, gateway.client(name));
    clients.set(poisonQueueOf(name), gateway.client(poisonQueueOf(name)));
  }
  return clients;
}

/** effective / baseline to 3 decimals (0 without a baseline rate). */
function ratio(effective: number, baseline: number): number {
  return baseline > 0 ? Math.round((effective / baseline) * 1000) / 1000 : 0;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

function mixText(mix: Record<string, number>): string {
  return Object.entries(mix)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${kind} ${n}`)
    .join(', ');
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${ensureError(error).message}\n`);
    process.exit(1);
  },
);
