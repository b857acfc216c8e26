import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type EmbeddedAzurite, startAzurite } from '../../../local/azurite/embedded-azurite.js';
import { queueClient, toBase64, waitFor } from './queue-test-helpers.js';

const projectRoot = fileURLToPath(new URL('../../..', import.meta.url));
const cli = fileURLToPath(new URL('../../../dist/local/host/cli.js', import.meta.url));
const appRoot = fileURLToPath(new URL('./fixtures/base64-app', import.meta.url));

let azurite: EmbeddedAzurite;

beforeAll(async () => {
  azurite = await startAzurite();
});

afterAll(async () => {
  await azurite?.stop();
});

interface RunningCli {
  readonly child: ChildProcess;
  readonly lines: Record<string, unknown>[];
  readonly nonJson: string[];
}

function startCli(): RunningCli {
  const child = spawn(process.execPath, [cli, '--root', appRoot, '--port', '0'], {
    cwd: projectRoot,
    env: { ...process.env, AzureWebJobsStorage: azurite.connectionString, ECHO_IN_QUEUE: 'echo-in' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: Record<string, unknown>[] = [];
  const nonJson: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      nonJson.push(line);
    }
  });
  return { child, lines, nonJson };
}

describe('local host CLI (node dist/local/host/cli.js)', () => {
  it('prints one ready line, and on SIGTERM finishes the running invocation, deletes its message, exits 0', async () => {
    const { child, lines, nonJson } = startCli();
    const exited = once(child, 'exit');
    const ready = await waitFor(
      async () => Promise.resolve(lines.find((l) => l.event === 'ready')),
      'ready line',
    );
    expect(ready.httpBaseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.functions).toEqual(expect.arrayContaining(['slowOnce', 'items', 'startupTimer']));

    const queue = queueClient(azurite.connectionString, 'slow-once');
    await queue.sendMessage(toBase64('slow'));
    await waitFor(
      async () =>
        Promise.resolve(lines.find((l) => l.functionName === 'slowOnce' && l.message === 'slowOnce started')),
      'slowOnce to start',
    );
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];

    expect(code).toBe(0);
    expect(lines.some((l) => l.functionName === 'slowOnce' && l.message === 'slowOnce finished')).toBe(true);
    expect(lines.filter((l) => l.event === 'ready')).toHaveLength(1);
    expect(nonJson).toEqual([]);
    expect((await queue.getProperties()).approximateMessagesCount).toBe(0);
  });
});
