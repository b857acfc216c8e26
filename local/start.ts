#!/usr/bin/env node
/**
 * `npm start`: the whole pipeline on this machine, with no account or configuration. Azurite, a
 * simulated Microsoft 365 tenant (the stand-in), the local Functions host; the initial sync runs at
 * once, with progress, then scheduled rounds keep running until Ctrl+C. `--once` stops after the
 * first complete run (exit 0 if it completed, 1 if it failed). When local.settings.json names a tenant
 * (SYNC_TENANT_ID, …), that tenant is synced into Azurite instead of the simulated one.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { odata } from '@azure/data-tables';
import { SingleBar } from 'cli-progress';
import { Command } from 'commander';

import { TABLES } from '../src/adapters/storage/storage-names.js';
import { SubscriptionStore } from '../src/adapters/storage/subscription-store.js';
import type { Row } from '../src/adapters/storage/table-gateway.js';
import type { AppServices } from '../src/app-services.js';
import { RUN_OUTCOMES } from '../src/domain/person-plan.js';
import type { RunSummary } from '../src/usecases/describe-runs.js';
import type { ChunkReport } from '../src/usecases/messages.js';
import { requestSync } from '../src/usecases/request-sync.js';
import { positiveInt } from './cli-numbers.js';
import type { HostEvent } from './environment/host-process.js';
import { projectRoot, startLocalEnvironment } from './environment/local-environment.js';
import { waitForRun } from './environment/run-watcher.js';
import { readTenantValues, startTenantEnvironment } from './environment/tenant-environment.js';
import type { StandinControl } from './standin/index.js';

const program = new Command()
  .name('npm start --')
  .description('Runs the Entra ID → people directory pipeline against a simulated Microsoft 365 tenant.')
  .option('--once', 'stop after the first complete run', false)
  .option('--users <n>', 'users in the simulated tenant', positiveInt, 500)
  .option('--seed <n>', 'seed of the simulated tenant', positiveInt, 7)
  .option('--interval <minutes>', 'minutes between scheduled rounds', positiveInt, 5)
  .option('--verbose', "show the local Functions host's logs (one JSON line each)", false)
  .option(
    '--demo-changes',
    'change the simulated tenant every few seconds (watch notifications apply it)',
    false,
  )
  .parse();
const options = program.opts<{
  once: boolean;
  users: number;
  seed: number;
  interval: number;
  verbose: boolean;
  demoChanges: boolean;
}>();

const interactive = process.stdout.isTTY === true;
const say = (line: string): void => void process.stdout.write(`${line}\n`);

interface Session {
  readonly services: AppServices;
  readonly tenantId: string;
  readonly users: number;
  /** Where to change the tenant, shown once the first run is done. */
  readonly changeHint: string;
  /** The simulated tenant's control (undefined for your own tenant). */
  readonly control?: StandinControl;
  /** What the first screen shows. */
  readonly screen: FirstScreen;
  stop(): Promise<void>;
}

interface FirstScreen {
  readonly hostUrl: string;
  readonly functionKey: string;
  readonly tenantId: string;
  readonly azurite: string | undefined;
  readonly standin?: { readonly caCertPath: string; readonly controlUrl: string; readonly userId: string };
}

/** --verbose: the host's own log lines, as it writes them. */
const onHostEvent = options.verbose
  ? (event: HostEvent): void => void process.stdout.write(`host ${JSON.stringify(event)}\n`)
  : undefined;

/** The tenant named in local.settings.json, or else the simulated demo tenant. */
async function startSession(): Promise<Session> {
  const root = projectRoot();
  const schedule = { kind: 'interval', minutes: options.interval } as const;
  const tenant = await readTenantValues(root);
  if (tenant) {
    say(
      `Starting Azurite and the local Functions host for tenant ${tenant.SYNC_TENANT_ID} (from local.settings.json)…`,
    );
    const env = await startTenantEnvironment(root, tenant, schedule, onHostEvent);
    say(`Functions host: ${env.host.httpBaseUrl}/api (${env.host.functions.length} functions)`);
    return {
      ...env,
      users: 0,
      changeHint: 'your tenant',
      screen: {
        hostUrl: env.host.httpBaseUrl,
        functionKey: env.functionKey,
        tenantId: env.tenantId,
        azurite: env.azuriteConnectionString,
      },
      stop: () => env.stop(STOP_GRACE_MS),
    };
  }
  say(
    `Starting Azurite, a simulated Microsoft 365 tenant (${options.users} users) and the local Functions host…`,
  );
  const env = await startLocalEnvironment({
    standin: { users: options.users, seed: options.seed },
    schedule,
    notifications: true,
    ...(onHostEvent ? { onHostEvent } : {}),
  });
  const host = env.host();
  say(`Functions host: ${host.httpBaseUrl}/api (${host.functions.length} functions)`);
  say(
    `Simulated tenant ${env.tenantId}: Graph ${env.standin.graphBaseUrl}, control API ${env.standin.controlUrl}`,
  );
  return {
    services: env.services,
    tenantId: env.tenantId,
    users: options.users,
    changeHint: env.standin.controlUrl,
    control: env.standin.control,
    screen: {
      hostUrl: host.httpBaseUrl,
      functionKey: env.functionKey,
      tenantId: env.tenantId,
      azurite: env.azurite.connectionString,
      standin: {
        caCertPath: env.standin.caCertPath,
        controlUrl: env.standin.controlUrl,
        userId:
          env.standin.control.snapshot().users.find((u) => !u.softDeleted && u.userType === 'Member')?.id ??
          '',
      },
    },
    stop: () => env.stop(STOP_GRACE_MS),
  };
}

/** Single-quoted for a POSIX shell. */
const quote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

/**
 * What a newcomer needs to try things, printed before the first sync: the function key, the storage,
 * the stand-in's CA and ready-to-paste curl lines (each works as printed, see test/local/first-screen.test.ts).
 */
function printFirstScreen(screen: FirstScreen): void {
  const api = `${screen.hostUrl}/api`;
  const key = `-H ${quote(`x-functions-key: ${screen.functionKey}`)}`;
  const connection = `${api}/connections/${screen.tenantId}`;
  const lines = [
    '',
    'Ready to try:',
    `  Function key:      ${screen.functionKey}${process.env.FUNCTIONS_DEFAULT_KEY ? ' (FUNCTIONS_DEFAULT_KEY)' : ' (random; set FUNCTIONS_DEFAULT_KEY to choose it)'}`,
    `  HTTP API:          ${api} (OpenAPI: ${api}/openapi.json)`,
    `  Azurite:           ${screen.azurite ?? 'the storage account in local.settings.json'}`,
    ...(screen.standin
      ? [
          `  Stand-in CA:       ${screen.standin.caCertPath} (NODE_EXTRA_CA_CERTS for Node, --cacert for curl)`,
        ]
      : []),
    `  Host logs:         ${options.verbose ? 'below, one JSON line each (host {…})' : 'npm start -- --verbose shows them'}`,
    '',
    ...(screen.standin
      ? [
          '  # change the simulated tenant (the stand-in control API): rename a user; the next round applies it',
          `  curl -sS --cacert ${quote(screen.standin.caCertPath)} -X POST ${quote(`${screen.standin.controlUrl}/ops`)} -H 'content-type: application/json' -d ${quote(JSON.stringify({ op: 'rename', id: screen.standin.userId, displayName: 'Renamed With Curl' }))}`,
        ]
      : []),
    "  # the connection's status: last run, next due time, delta token age, subscriptions, held changes",
    `  curl -sS ${key} ${quote(`${connection}/status`)}`,
    '  # a sync now: 202 with a requestId; GET …/runs/{requestId} finds its run',
    `  curl -sS -X POST ${key} -H 'content-type: application/json' -d '{}' ${quote(`${connection}/sync`)}`,
    '  # the same from the CLI (entra-sync --help lists every command)',
    `  ENTRA_SYNC_URL=${quote(screen.hostUrl)} ENTRA_SYNC_KEY=${quote(screen.functionKey)} ENTRA_SYNC_TENANT=${screen.tenantId} node dist/src/cli/main.js status`,
    '',
  ];
  for (const line of lines) say(line);
}

/**
 * How long the host may finish its invocations once asked to stop: a terminal's Ctrl+C reaches Azurite
 * too, so a sync in flight cannot finish; the host is then killed (its work is at-least-once safe).
 */
const STOP_GRACE_MS = 4_000;

/** Set once Ctrl+C (or SIGTERM) asked to stop: the environment's stop, which removes its temp folders. */
let stopped: Promise<void> | undefined;

async function main(): Promise<number> {
  const env = await startSession();
  let stopping = false;
  const stop = (): Promise<void> => {
    if (stopped) return stopped;
    stopping = true;
    say('Stopping…');
    stopped = env.stop().then(() => say('Stopped.'));
    return stopped;
  };
  // Stop once, whatever is running (a sync's watch loop then fails on the stopped storage: ignored).
  const onSignal = (): void =>
    void stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  printFirstScreen(env.screen);

  await requestSync(env.services.deps(), env.tenantId, 'initial');
  const first = await watch(env.services, env.tenantId, undefined, env.users);
  printSummary(first);
  if (options.once) {
    await stop();
    return first.state === 'failed' ? 1 : 0;
  }
  const control = env.control;
  if (control) {
    await showSubscriptions(env.services, env.tenantId);
    await showLiveChange(env.services, env.tenantId, control, 0);
    if (options.demoChanges) void demoChanges(env.services, env.tenantId, control, () => stopping);
  }
  say(
    `Running. Scheduled rounds every ${options.interval} minute(s), and a round within about a second of each change notification; change the tenant through ${env.changeHint}${options.demoChanges ? ' (or watch --demo-changes do it)' : ''}. Ctrl+C stops.`,
  );
  let lastKey = (await env.services.deps().runs.list(env.tenantId, 1))[0]?.rowKey;
  while (!stopping) {
    const run = await watch(env.services, env.tenantId, lastKey, env.users, 24 * 3600_000);
    printSummary(run);
    lastKey = (await env.services.deps().runs.list(env.tenantId, 1))[0]?.rowKey;
  }
  return 0;
}

async function watch(
  services: Parameters<typeof waitForRun>[0],
  tenantId: string,
  afterRunKey: string | undefined,
  users: number,
  timeoutMs = 30 * 60_000,
): Promise<RunSummary> {
  const bar = interactive
    ? new SingleBar({
        format: 'Sync [{bar}] {value}/{total} users | {people} | chunks {chunks}',
        hideCursor: true,
      })
    : undefined;
  let lastLine = '';
  let started = false;
  const summary = await waitForRun(services, tenantId, {
    ...(afterRunKey ? { afterRunKey } : {}),
    timeoutMs,
    pollMs: 500,
    onProgress: (row: Row, reports: readonly ChunkReport[]) => {
      const counted = (outcome: (typeof RUN_OUTCOMES)[number]): number =>
        reports.reduce((sum, report) => sum + (report.counts[outcome] ?? 0), 0);
      const processed = RUN_OUTCOMES.map(counted).reduce((a, b) => a + b, 0);
      const people = `created ${counted('created')}, updated ${counted('updated')}, failed ${counted('failed')}`;
      const chunks = `${reports.length}/${Number(row.chunksTotal) < 0 ? '?' : Number(row.chunksTotal)}`;
      if (bar) {
        if (!started) bar.start(Math.max(users, processed), 0, { people, chunks });
        started = true;
        bar.setTotal(Math.max(users, processed));
        bar.update(processed, { people, chunks });
      } else {
        const line = `run ${String(row.runId).slice(0, 8)} (${String(row.trigger)}): ${processed} users processed, ${people}, chunks ${chunks}`;
        if (line !== lastLine) say(line);
        lastLine = line;
      }
    },
  });
  bar?.stop();
  return summary;
}

/** Waits for the renewal timer's subscriptions on /users and /groups and says so. */
async function showSubscriptions(services: AppServices, tenantId: string): Promise<void> {
  const store = new SubscriptionStore(services.deps().tables);
  const deadline = Date.now() + 30_000;
  let rows = await store.list();
  while (rows.filter((row) => row.tenantId === tenantId).length < 2 && Date.now() < deadline) {
    await sleep(250);
    rows = await store.list();
  }
  for (const row of rows.filter((r) => r.tenantId === tenantId)) {
    say(
      `Subscribed to change notifications on /${row.resource} (subscription ${row.subscriptionId}, expires ${row.expiresAt.toISOString()}; its clientState is in Key Vault)`,
    );
  }
}

/** Renames a user in the simulated tenant and reports when its people row shows it. */
async function showLiveChange(
  services: AppServices,
  tenantId: string,
  control: StandinControl,
  i: number,
): Promise<void> {
  const users = control.snapshot().users.filter((u) => !u.softDeleted && u.userType === 'Member');
  const user = users[(i * 7919) % users.length];
  if (!user) return;
  const name = `Live Change ${i + 1}`;
  const started = performance.now();
  control.rename(user.id, { displayName: name });
  say(`Live change: ${user.id} renamed to "${name}" in the simulated tenant…`);
  const people = services.deps().tables.client(TABLES.people);
  const filter = odata`PartitionKey ge ${`${tenantId}|`} and PartitionKey lt ${`${tenantId}}`} and sourceObjectId eq ${user.id}`;
  while (performance.now() - started < 30_000) {
    for await (const row of people.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      if (row.displayName === name) {
        say(
          `  … in the people table ${((performance.now() - started) / 1000).toFixed(2)} s later (change notification → delta round)`,
        );
        return;
      }
    }
    await sleep(100);
  }
  say('  … not in the people table after 30 s (the next scheduled round applies it)');
}

/** --demo-changes: a tenant change every 5 seconds, each timed to its people row. */
async function demoChanges(
  services: AppServices,
  tenantId: string,
  control: StandinControl,
  stopped: () => boolean,
): Promise<void> {
  for (let i = 1; !stopped(); i += 1) {
    await sleep(5_000);
    if (stopped()) return;
    await showLiveChange(services, tenantId, control, i).catch(() => undefined);
  }
}

function printSummary(run: RunSummary): void {
  const counts = Object.entries(run.counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const seconds = run.endedAt
    ? ((Date.parse(run.endedAt) - Date.parse(run.startedAt)) / 1000).toFixed(1)
    : '?';
  // One write: whoever reads the output sees the summary whole.
  say(
    [
      `Run ${run.runId} (${run.trigger}${run.full ? ', full' : ''}) ${run.state} in ${seconds} s: ${counts || 'no changes'}`,
      // The run's problem records hold its warnings too (a manager out of the directory): counted apart.
      `  Graph requests ${run.graphRequests}, directory entity writes ${run.directoryWrites}, ` +
        `errors ${run.errors.length - run.warnings}, warnings ${run.warnings}`,
      ...run.errors
        .slice(0, 10)
        .map((error) => `  ${error.category}: ${error.objectId ?? '-'} ${error.message}`),
    ].join('\n'),
  );
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    // Stopping (Ctrl+C): the failure is the stopped environment's; let the stop finish and exit 0.
    if (stopped)
      return stopped.then(
        () => process.exit(0),
        () => process.exit(1),
      );
    process.stderr.write(`npm start failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
