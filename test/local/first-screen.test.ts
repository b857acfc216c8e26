/**
 * Issue 11, point 8: the first ten minutes. `npm start`'s first screen names the function key (the one
 * FUNCTIONS_DEFAULT_KEY sets), the Azurite connection string, the stand-in's CA path and curl lines
 * that work when pasted; Ctrl+C during a sync stops cleanly and leaves no temp folder behind.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const sh = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const key = `first-screen-${Math.random().toString(36).slice(2, 12)}`;

describe('npm start: the first screen', () => {
  let child: ChildProcess;
  let output = '';
  let temp: string;
  let exited: Promise<number | null>;

  const waitFor = async (pattern: RegExp, ms = 90_000): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!pattern.test(output)) {
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`no ${String(pattern)} in:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  beforeAll(async () => {
    // Its own temp folder: what the run leaves behind is exactly what this folder still holds.
    temp = await mkdtemp(join(tmpdir(), 'first-screen-'));
    child = spawn(
      process.execPath,
      ['dist/local/start.js', '--users', '20', '--seed', '5', '--interval', '60'],
      {
        cwd: root,
        env: { ...process.env, FUNCTIONS_DEFAULT_KEY: key, TMPDIR: temp, TMP: temp, TEMP: temp },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    );
    exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    // The whole summary: its first line, the counts line, and the problems listed under it.
    await waitFor(/^Run \S+ \(initial, full\) completed[^\n]*\n {2}Graph requests [^\n]*\n/m);
  });
  afterAll(async () => {
    if (child && child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
    if (temp) await rm(temp, { recursive: true, force: true });
  });

  it("counts the managers rule's problems of a completed run as warnings, not as errors", () => {
    const summary =
      /^Run \S+ \(initial, full\) completed in [^\n]*\n {2}Graph requests \d+, directory entity writes \d+, errors (\d+), warnings (\d+)$/m.exec(
        output,
      );
    expect(summary, output).not.toBeNull();
    const [, errors, warnings] = summary!.map(Number);
    expect(errors).toBe(0);
    // This tenant has managers out of scope: each is a warning, listed under the summary.
    expect(warnings).toBeGreaterThan(0);
    expect(output.match(/^ {2}manager-(missing|out-of-scope|cycle): /gm)).toHaveLength(
      Math.min(10, warnings!),
    );
  });

  it('shows the function key, the Azurite connection string and the CA path', () => {
    expect(output).toMatch(new RegExp(`^  Function key: +${key} \\(FUNCTIONS_DEFAULT_KEY\\)$`, 'm'));
    expect(output).toMatch(
      /^ {2}Azurite: +DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=[^;]+;BlobEndpoint=http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1;QueueEndpoint=\S+;TableEndpoint=\S+;$/m,
    );
    const ca = /^ {2}Stand-in CA: +(\S+)/m.exec(output)?.[1];
    expect(ca && existsSync(ca)).toBe(true);
    expect(ca!.startsWith(temp)).toBe(true);
    expect(output).toMatch(/^ {2}Host logs: +npm start -- --verbose shows them$/m);
  });

  it('prints curl lines that work when pasted: a tenant change, the status, a sync now (and the CLI)', async () => {
    const curls = output.split('\n').filter((line) => line.startsWith('  curl '));
    expect(curls).toHaveLength(3);
    const [change, status, sync] = await Promise.all(
      curls.map(async (line) => (await sh('sh', ['-c', line], { cwd: root, timeout: 30_000 })).stdout),
    );
    expect(JSON.parse(change!)).toMatchObject({ ids: expect.any(Array) as unknown });
    const tenant = /\/connections\/([0-9a-f-]{36})\/status/.exec(output)![1]!;
    expect(JSON.parse(status!)).toMatchObject({
      tenantId: tenant,
      lastRun: { runId: expect.any(String) as unknown },
    });
    const requested = JSON.parse(sync!) as { requestId: string; run: string };
    expect(requested.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(requested.run).toContain(requested.requestId);

    const cliLine = output.split('\n').find((line) => line.startsWith('  ENTRA_SYNC_URL='));
    const cli = await sh('sh', ['-c', cliLine!], { cwd: root, timeout: 30_000 });
    expect(cli.stdout).toMatch(/^tenant: +/m);
  });

  it('stops cleanly on Ctrl+C during a sync and leaves no temp folder', async () => {
    const host = /^ {2}HTTP API: +(\S+) /m.exec(output)![1]!;
    const tenant = /\/connections\/([0-9a-f-]{36})\/status/.exec(output)![1]!;
    const requested = await fetch(`${host}/connections/${tenant}/sync`, {
      method: 'POST',
      headers: { 'x-functions-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ full: true }),
    });
    expect(requested.status).toBe(202);
    process.kill(-child.pid!, 'SIGINT'); // the terminal's Ctrl+C: the whole process group
    const code = await Promise.race([
      exited,
      new Promise((resolve) => setTimeout(() => resolve('timeout'), 45_000)),
    ]);
    expect(code, output).toBe(0);
    expect(output).toMatch(/^Stopped\.$/m);
    expect(output).not.toMatch(/npm start failed/);
    expect((await readdir(temp)).filter((name) => name !== 'entra-sync-standin-ca')).toEqual([]);
  });
});
