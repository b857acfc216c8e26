#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';

import { ensureError } from '../../src/shared/errors.js';
import { startLocalHost } from './local-host.js';

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new InvalidArgumentError('Not a TCP port.');
  return port;
}

function writeLine(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

/**
 * `node dist/local/host/cli.js [--root DIR] [--port N]`: runs the local Functions host like `func start`.
 * stdout carries one JSON object per line: `{"event":"ready",...}` once listening, then log entries.
 * Settings come from local.settings.json and the environment. SIGINT/SIGTERM: stop polling, let running
 * invocations finish, exit 0.
 */
async function main(): Promise<void> {
  const program = new Command()
    .name('local-host')
    .description('Runs the Azure Functions app in --root the way the Functions host does.')
    .option('--root <dir>', 'folder with package.json, host.json and local.settings.json', process.cwd())
    .option('--port <n>', 'HTTP port (0 = a free port; default Host.LocalHttpPort or 7071)', parsePort)
    .parse();
  const options = program.opts<{ root: string; port?: number }>();
  const host = await startLocalHost({
    root: options.root,
    ...(options.port === undefined ? {} : { httpPort: options.port }),
  });
  writeLine({ event: 'ready', httpBaseUrl: host.httpBaseUrl, functions: host.functions.map((f) => f.name) });

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    writeLine({ event: 'stopping', signal });
    host.stop().then(
      () => {
        writeLine({ event: 'stopped' });
        process.exit(0);
      },
      (error: unknown) => {
        writeLine({ event: 'error', message: ensureError(error).message });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  writeLine({ event: 'error', message: ensureError(error).message });
  process.exit(1);
});
