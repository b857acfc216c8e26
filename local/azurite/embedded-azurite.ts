import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The well-known Azurite development account (public, documented by Microsoft; not a secret). */
export const DEV_ACCOUNT_NAME = 'devstoreaccount1';
export const DEV_ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface EmbeddedAzurite {
  readonly connectionString: string;
  readonly blobEndpoint: string;
  readonly queueEndpoint: string;
  readonly tableEndpoint: string;
  stop(): Promise<void>;
}

export interface AzuriteOptions {
  /** Keep data in memory (default) or in a temporary folder removed at stop. */
  readonly persistence?: 'memory' | 'temp-folder';
  /**
   * Azurite's own output, for debugging: with this, Azurite also writes its access log (a line a
   * request, about 5% of its CPU under the pipeline's load); without it, Azurite runs `--silent`.
   */
  readonly onOutput?: (line: string) => void;
}

const LISTENING = /Azurite (Blob|Queue|Table) service is successfully listening at (http:\/\/[^\s]+)/;

/**
 * Starts Azurite (npm `azurite`) as a child process on free ports, with `--skipApiVersionCheck`,
 * and resolves once the blob, queue and table services listen.
 */
export async function startAzurite(options: AzuriteOptions = {}): Promise<EmbeddedAzurite> {
  const require = createRequire(import.meta.url);
  const entry = join(require.resolve('azurite/package.json'), '..', 'dist', 'src', 'azurite.js');
  const folder = await mkdtemp(join(tmpdir(), 'azurite-'));
  const args = [
    entry,
    '--skipApiVersionCheck',
    '--disableTelemetry',
    '--loose',
    ...(options.onOutput ? [] : ['--silent']),
    '--blobPort',
    '0',
    '--queuePort',
    '0',
    '--tablePort',
    '0',
    ...(options.persistence === 'temp-folder' ? ['--location', folder] : ['--inMemoryPersistence']),
  ];
  const child = spawn(process.execPath, args, { cwd: folder, stdio: ['ignore', 'pipe', 'pipe'] });
  const endpoints = await waitForEndpoints(child, options.onOutput);
  const account = DEV_ACCOUNT_NAME;
  const blobEndpoint = `${endpoints.Blob}/${account}`;
  const queueEndpoint = `${endpoints.Queue}/${account}`;
  const tableEndpoint = `${endpoints.Table}/${account}`;
  return {
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${account};AccountKey=${DEV_ACCOUNT_KEY};` +
      `BlobEndpoint=${blobEndpoint};QueueEndpoint=${queueEndpoint};TableEndpoint=${tableEndpoint};`,
    blobEndpoint,
    queueEndpoint,
    tableEndpoint,
    async stop() {
      await stopChild(child);
      await rm(folder, { recursive: true, force: true });
    },
  };
}

function waitForEndpoints(
  child: ChildProcess,
  onOutput: ((line: string) => void) | undefined,
): Promise<Record<'Blob' | 'Queue' | 'Table', string>> {
  return new Promise((resolve, reject) => {
    const found: Partial<Record<'Blob' | 'Queue' | 'Table', string>> = {};
    let output = '';
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      output += text;
      for (const line of text.split('\n')) {
        if (line.trim() !== '') onOutput?.(line);
        const match = LISTENING.exec(line);
        if (match) found[match[1] as 'Blob' | 'Queue' | 'Table'] = match[2]!;
      }
      if (found.Blob && found.Queue && found.Table) {
        child.off('exit', onExit);
        // Listening: the startup output is no longer needed; later output goes to onOutput alone (the
        // streams keep flowing without it, and what they carry is dropped).
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onData);
        if (onOutput) {
          const forward = (later: Buffer): void => {
            for (const line of later.toString('utf8').split('\n')) if (line.trim() !== '') onOutput(line);
          };
          child.stdout?.on('data', forward);
          child.stderr?.on('data', forward);
        }
        resolve(found as Record<'Blob' | 'Queue' | 'Table', string>);
      }
    };
    const onExit = (code: number | null): void =>
      reject(new Error(`Azurite exited with code ${String(code)} before listening:\n${output}`));
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', reject);
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
