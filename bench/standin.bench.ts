/**
 * Stand-in benchmark: generates a tenant (default 100,000 users) in a child process running the stand-in's
 * CLI, walks a full `/users/delta` round through the real Graph client and `@azure/identity`, and reads the
 * child's memory from /proc. Targets: generation < 10 s, delta ≥ 5,000 users/s, stand-in RSS < 1 GiB.
 *
 * `--graph-latency realistic` starts the stand-in with its Graph latency model; the figures then include the
 * latency it injected (`injectedLatencyMs`), the least any client can take for the same rounds.
 *
 *   npm run build && node dist/bench/standin.bench.js --users 100000 [--seed 1] [--out bench.json]
 *                                                      [--graph-latency realistic]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { ClientSecretCredential } from '@azure/identity';
import { Client, type PageCollection } from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js';
import { Command, Option } from 'commander';
import { z } from 'zod';

import { ensureLocalCa } from '../local/standin/index.js';

const startedLineSchema = z.object({
  graphBaseUrl: z.string(),
  authorityHost: z.string(),
  tenantId: z.string(),
  clientId: z.string(),
  clientSecret: z.string(),
  caCertPath: z.string(),
  controlUrl: z.string(),
  users: z.number(),
  groups: z.number(),
  generationMs: z.number(),
});
type Started = z.infer<typeof startedLineSchema>;

const options = new Command()
  .option('--users <n>', 'users to generate', (v) => Number(v), 100_000)
  .option('--seed <n>', 'generator seed', (v) => Number(v), 1)
  .option('--out <file>', 'write the results as JSON')
  .addOption(
    new Option('--graph-latency <model>', "Graph's answer times: none or realistic")
      .choices(['none', 'realistic'])
      .default('none'),
  )
  .parse()
  .opts<{ users: number; seed: number; out?: string; graphLatency: 'none' | 'realistic' }>();

/** Node reads NODE_EXTRA_CA_CERTS only at start: re-run this script with it set when it is missing. */
async function ensureTrust(): Promise<boolean> {
  const { caCertPath } = await ensureLocalCa();
  if (process.env.NODE_EXTRA_CA_CERTS === caCertPath) return true;
  const child = spawn(process.execPath, process.argv.slice(1), {
    stdio: 'inherit',
    env: { ...process.env, NODE_EXTRA_CA_CERTS: caCertPath },
  });
  const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
  process.exitCode = code;
  return false;
}

async function startChild(): Promise<{ child: ChildProcess; started: Started; startupMs: number }> {
  const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'local', 'standin', 'cli.js');
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [
      cli,
      '--users',
      String(options.users),
      '--seed',
      String(options.seed),
      '--graph-latency',
      options.graphLatency,
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`The stand-in exited with ${code}.`)));
  });
  return {
    child,
    started: startedLineSchema.parse(JSON.parse(first)),
    startupMs: Math.round(performance.now() - t0),
  };
}

function memoryOf(pid: number): { rssMiB: number; peakRssMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  return { rssMiB: Math.round(kib('VmRSS') / 1024), peakRssMiB: Math.round(kib('VmHWM') / 1024) };
}

async function deltaRound(
  client: Client,
  url: string,
): Promise<{ objects: number; pages: number; ms: number }> {
  const t0 = performance.now();
  let objects = 0;
  let pages = 0;
  let next: string | undefined = url;
  while (next) {
    const page = (await client.api(next).get()) as PageCollection & { '@odata.deltaLink'?: string };
    objects += page.value.length;
    pages++;
    next = page['@odata.nextLink'];
  }
  return { objects, pages, ms: Math.round(performance.now() - t0) };
}

async function main(): Promise<void> {
  if (!(await ensureTrust())) return;
  const { child, started, startupMs } = await startChild();
  try {
    const credential = new ClientSecretCredential(started.tenantId, started.clientId, started.clientSecret, {
      authorityHost: started.authorityHost,
      disableInstanceDiscovery: true,
    });
    const origin = new URL(started.graphBaseUrl);
    const client = Client.initWithMiddleware({
      authProvider: new TokenCredentialAuthenticationProvider(credential, {
        scopes: ['https://graph.microsoft.com/.default'],
      }),
      baseUrl: origin.origin,
      defaultVersion: 'v1.0',
      customHosts: new Set([origin.hostname]),
    });
    const select =
      'id,displayName,givenName,surname,mail,userPrincipalName,jobTitle,department,officeLocation,employeeId,employeeHireDate,accountEnabled,userType,proxyAddresses,onPremisesExtensionAttributes,manager';
    const afterStart = memoryOf(child.pid!);
    const users = await deltaRound(client, `/users/delta?$select=${select}`);
    const groups = await deltaRound(
      client,
      '/groups/delta?$select=displayName,description,mailNickname,members',
    );
    const afterRound = memoryOf(child.pid!);
    const counters = z
      .object({ injectedLatencyMs: z.object({ total: z.number() }) })
      .parse(await (await fetch(`${started.controlUrl}/counters`)).json());
    const results = {
      users: started.users,
      groups: started.groups,
      generationMs: started.generationMs,
      standinStartupMs: startupMs,
      usersDelta: { ...users, usersPerSecond: Math.round((users.objects / users.ms) * 1000) },
      groupsDelta: groups,
      graphLatency: options.graphLatency,
      injectedLatencyMs: counters.injectedLatencyMs.total,
      standinRssMiB: {
        afterStart: afterStart.rssMiB,
        afterRounds: afterRound.rssMiB,
        peak: afterRound.peakRssMiB,
      },
      targets: {
        generationUnder10s: started.generationMs < 10_000,
        deltaAtLeast5000UsersPerSecond: (users.objects / users.ms) * 1000 >= 5000,
        rssUnder1GiB: afterRound.peakRssMiB < 1024,
      },
    };
    console.table({
      'generate tenant (ms)': { value: results.generationMs, target: '< 10000' },
      'stand-in start incl. generation (ms)': { value: startupMs, target: '' },
      'users delta round (ms)': { value: users.ms, target: '' },
      'users delta objects / pages': { value: `${users.objects} / ${users.pages}`, target: '' },
      'users delta (users/s)': { value: results.usersDelta.usersPerSecond, target: '>= 5000' },
      'groups delta round (ms, objects incl. repeats)': {
        value: `${groups.ms} (${groups.objects})`,
        target: '',
      },
      'latency injected (ms, --graph-latency)': {
        value: `${counters.injectedLatencyMs.total} (${options.graphLatency})`,
        target: '',
      },
      'stand-in RSS after rounds / peak (MiB)': {
        value: `${afterRound.rssMiB} / ${afterRound.peakRssMiB}`,
        target: '< 1024',
      },
    });
    if (options.out) writeFileSync(options.out, `${JSON.stringify(results, null, 2)}\n`);
  } finally {
    child.kill('SIGTERM');
  }
}

await main();
