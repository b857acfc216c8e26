import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { NODE_WORKER_ARGUMENTS_SETTING, nodeWorkerArguments } from '../../src/config/node-worker.js';

/** One JSON line the local host's CLI prints. */
export interface HostEvent {
  readonly event: string;
  readonly [key: string]: unknown;
}

export interface HostProcess {
  readonly httpBaseUrl: string;
  readonly functions: readonly string[];
  /** The host's operating-system process id (for /proc sampling, e.g. the bench's peak RSS). */
  readonly pid: number;
  /**
   * SIGTERM: the host stops polling, lets running invocations finish, and exits; one still running after
   * `graceMs` (default 15 s: e.g. its storage is gone, as after a terminal's Ctrl+C, which reaches
   * Azurite too) is killed.
   */
  stop(graceMs?: number): Promise<number | null>;
  /** SIGKILL: a crash, in the middle of whatever it was doing. */
  kill(): Promise<void>;
}

/**
 * Runs the project's local Functions host (`dist/local/host/cli.js`) as its own process, the way
 * `func start` would, with app settings passed through its environment (never written to a file).
 */
export async function startHostProcess(options: {
  root: string;
  env: Record<string, string>;
  /** The HTTP port (default 0: a free one). */
  port?: number;
  /** Extra Node.js options for the host process (e.g. `--cpu-prof` to profile it). */
  nodeArgs?: readonly string[];
  onEvent?: (event: HostEvent) => void;
}): Promise<HostProcess> {
  const child = spawn(
    process.execPath,
    [
      // As the Functions host starts its Node worker: with the arguments the app settings give it.
      ...nodeWorkerArguments(options.env[NODE_WORKER_ARGUMENTS_SETTING]),
      ...(options.nodeArgs ?? []),
      join(options.root, 'dist', 'local', 'host', 'cli.js'),
      '--root',
      options.root,
      '--port',
      String(options.port ?? 0),
    ],
    {
      cwd: options.root,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stderr: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr.push(chunk.toString('utf8'));
    if (stderr.length > 50) stderr.shift();
  });
  const ready = await new Promise<HostEvent>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      let event: HostEvent;
      try {
        event = JSON.parse(line) as HostEvent;
      } catch {
        event = { event: 'output', message: line };
      }
      if (event.event === 'ready') resolve(event);
      else if (event.event === 'error')
        reject(new Error(`local host failed to start: ${String(event.message)}`));
      options.onEvent?.(event);
    });
    void exited.then((code) =>
      reject(new Error(`local host exited with ${String(code)} before it was ready:\n${stderr.join('')}`)),
    );
  });
  return {
    httpBaseUrl: String(ready.httpBaseUrl),
    functions: Array.isArray(ready.functions) ? ready.functions.map(String) : [],
    pid: child.pid ?? -1,
    stop: async (graceMs = 15_000) => {
      signal(child, 'SIGTERM');
      const timer = setTimeout(() => signal(child, 'SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    kill: async () => {
      signal(child, 'SIGKILL');
      await exited;
    },
  };
}

function signal(child: ChildProcess, name: NodeJS.Signals): void {
  if (child.exitCode === null && child.signalCode === null) child.kill(name);
}
