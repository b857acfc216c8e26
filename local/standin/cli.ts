/**
 * `npm run standin -- --users N --seed S [--port P] [--graph-latency realistic]`: starts the Graph + Entra stand-in, prints one JSON line
 * with what a client needs (endpoints, tenant, app credentials, CA path), and runs until SIGINT/SIGTERM.
 */
import { Command, InvalidArgumentError, Option } from 'commander';

import { startStandin } from './index.js';

function integer(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0)
    throw new InvalidArgumentError('Expected a non-negative integer.');
  return parsed;
}

const program = new Command()
  .name('standin')
  .description('Local Microsoft Graph + Entra ID stand-in (HTTPS, generated tenant)')
  .option('--users <n>', 'users to generate', integer, 100)
  .option('--groups <n>', 'groups to generate (default users / 20)', integer)
  .option('--seed <n>', 'generator seed', integer, 1)
  .option('--port <n>', 'port (0 = any free port)', integer, 0)
  .option('--host <host>', 'interface to listen on', '127.0.0.1')
  .option('--ca-dir <dir>', 'folder of the local CA')
  .option('--delta-page-size <n>', 'users per /users/delta page', integer, 200)
  .addOption(
    new Option(
      '--graph-latency <model>',
      "Graph's answer times (the fault plan's graphLatency): none, or realistic (~270 ms a 200-user delta page)",
    )
      .choices(['none', 'realistic'])
      .default('none'),
  )
  .parse();

const options = program.opts<{
  users: number;
  groups?: number;
  seed: number;
  port: number;
  host: string;
  caDir?: string;
  deltaPageSize: number;
  graphLatency: 'none' | 'realistic';
}>();

const standin = await startStandin({
  users: options.users,
  seed: options.seed,
  port: options.port,
  host: options.host,
  deltaPageSize: options.deltaPageSize,
  faults: { graphLatency: options.graphLatency },
  ...(options.groups !== undefined ? { groups: options.groups } : {}),
  ...(options.caDir !== undefined ? { caDir: options.caDir } : {}),
});

process.stdout.write(
  `${JSON.stringify({
    graphBaseUrl: standin.graphBaseUrl,
    authorityHost: standin.authorityHost,
    keyVaultUrl: standin.keyVaultUrl,
    tenantId: standin.tenantId,
    clientId: standin.clientId,
    clientSecret: standin.clientSecret,
    caCertPath: standin.caCertPath,
    controlUrl: standin.controlUrl,
    users: standin.generated.users,
    groups: standin.generated.groups,
    generationMs: standin.generated.generationMs,
    graphLatency: standin.control.faults().graphLatency,
  })}\n`,
);

const shutdown = (): void => {
  void standin.stop().then(() => process.exit(0));
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
