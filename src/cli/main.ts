#!/usr/bin/env node
/**
 * `entra-sync`: the admin's command line over the HTTP API (package.json `bin`). Locally it takes the
 * host's URL and function key (`--url`/`ENTRA_SYNC_URL`, `--key`/`ENTRA_SYNC_KEY`, as `npm start`
 * prints them); in Azure, `--scope`/`ENTRA_SYNC_SCOPE` (the API app's `api://…/.default`) and an Entra
 * token from DefaultAzureCredential. Human tables by default, `--json` for scripts. Arguments are
 * parsed by commander (the project's argument parser, maintained, typed, with generated help).
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

import { Command, InvalidArgumentError, Option } from 'commander';

import { counts, fields, table, text } from './format.js';
import { ApiClient, ApiError } from './http-client.js';

interface GlobalOptions {
  url: string;
  key?: string;
  scope?: string;
  tenant?: string;
  json: boolean;
}

type Json = Record<string, unknown>;

const out = (text: string): void => void process.stdout.write(`${text}\n`);

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

const program = new Command()
  .name('entra-sync')
  .description('Drive the Entra ID → people directory sync through its HTTP API.')
  .addOption(
    new Option('--url <url>', 'the Functions app (locally the host npm start prints)')
      .env('ENTRA_SYNC_URL')
      .default('http://127.0.0.1:7071'),
  )
  .addOption(new Option('--key <key>', 'the function key (local host)').env('ENTRA_SYNC_KEY'))
  .addOption(
    new Option('--scope <scope>', 'sign in with Entra (DefaultAzureCredential) for this scope').env(
      'ENTRA_SYNC_SCOPE',
    ),
  )
  .addOption(new Option('--tenant <tenantId>', 'the connection (Entra tenant id)').env('ENTRA_SYNC_TENANT'))
  .option('--json', 'print the API’s JSON (one line; one line an event for events)', false)
  .showHelpAfterError();

function context(command: Command): { options: GlobalOptions; api: ApiClient } {
  const options = command.optsWithGlobals<GlobalOptions>();
  return { options, api: new ApiClient({ url: options.url, key: options.key, scope: options.scope }) };
}

function tenantPath(options: GlobalOptions, rest = ''): string {
  if (!options.tenant) throw new InvalidArgumentError('--tenant (or ENTRA_SYNC_TENANT) is required');
  return `connections/${encodeURIComponent(options.tenant)}${rest}`;
}

function print(options: GlobalOptions, body: unknown, human: () => string): void {
  out(options.json ? JSON.stringify(body) : human());
}

async function readJsonFile(file: string): Promise<unknown> {
  const text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new InvalidArgumentError(`${file} is not JSON: ${(error as Error).message}`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

interface RunView {
  runId: string;
  trigger: string;
  state: string;
  full: boolean;
  startedAt: string;
  endedAt: string | null;
  counts: Record<string, number>;
  errors: { category: string; objectId: string | null; message: string }[];
  gate?: { decision: string | null; heldCounts: Record<string, number>; threshold: string | null };
}

function runLines(run: RunView): string {
  return [
    fields([
      ['run', run.runId],
      ['trigger', `${run.trigger}${run.full ? ' (full)' : ''}`],
      ['state', run.state],
      ['started', run.startedAt],
      ['ended', run.endedAt],
      ['counts', counts(run.counts)],
      ['gate', run.gate?.decision ?? null],
      ['held', run.gate ? counts(run.gate.heldCounts) : null],
      ['errors', run.errors.length],
    ]),
    ...run.errors.slice(0, 20).map((e) => `  ${e.category}: ${e.objectId ?? '-'} ${e.message}`),
  ].join('\n');
}

program
  .command('connect')
  .description("Print the admin-consent URL that connects a tenant (--tenant: that tenant's admin only)")
  .action(async function (this: Command) {
    const { options, api } = context(this);
    // GET /api/connect answers a redirect to Entra with a signed, single-use state: its Location is the
    // URL to open (asked with the key or token here, so the browser never needs either).
    const answer = await api.call(
      'GET',
      `connect${options.tenant ? `?tenant=${encodeURIComponent(options.tenant)}` : ''}`,
    );
    const location = answer.headers.get('location');
    if (answer.status !== 302 || !location) throw new ApiError(answer.status, answer.body);
    print(options, { url: location }, () => `Open this URL as a tenant admin to grant consent:\n${location}`);
  });

program
  .command('status')
  .description(
    "The connection's health: last run, next due time, delta token age, subscriptions, held changes",
  )
  .action(async function (this: Command) {
    const { options, api } = context(this);
    const status = await api.json<Json>('GET', tenantPath(options, '/status'));
    print(options, status, () => {
      const s = status as {
        tenantId: string;
        displayName: string;
        enabled: boolean;
        schedule: { kind: string; nextDueAt: string | null };
        lastRun: (RunView & { errorsByCategory: Record<string, number> }) | null;
        running: { runId: string } | null;
        deltaToken: { present: boolean; ageSeconds: number | null };
        subscriptions: { state: string; nextExpiry: string | null };
        held: { runs: { runId: string }[]; total: number };
        permissions: { missing: string[]; checkedAt: string } | null;
        disputes: { open: number };
      };
      return fields([
        ['tenant', `${s.tenantId} (${s.displayName})${s.enabled ? '' : ' disabled'}`],
        [
          'last run',
          s.lastRun
            ? `${s.lastRun.runId} ${s.lastRun.state} (${s.lastRun.trigger}), ${counts(s.lastRun.counts)}`
            : 'none yet',
        ],
        ['errors', s.lastRun ? counts(s.lastRun.errorsByCategory) : null],
        ['running', s.running?.runId ?? 'no'],
        ['next due', s.schedule.nextDueAt ?? `never (${s.schedule.kind})`],
        [
          'delta token',
          s.deltaToken.present ? `${s.deltaToken.ageSeconds ?? '?'} s old` : 'none (next round is full)',
        ],
        [
          'subscriptions',
          `${s.subscriptions.state}${s.subscriptions.nextExpiry ? `, next expiry ${s.subscriptions.nextExpiry}` : ''}`,
        ],
        [
          'held',
          s.held.runs.length > 0
            ? `${s.held.total} changes in ${s.held.runs.map((r) => r.runId).join(', ')}`
            : 'none',
        ],
        [
          'permissions',
          s.permissions
            ? `${s.permissions.missing.length > 0 ? `missing ${s.permissions.missing.join(', ')}` : 'ok'} (checked ${s.permissions.checkedAt})`
            : 'not checked yet',
        ],
        ['open disputes', s.disputes.open],
      ]);
    });
  });

program
  .command('sync')
  .description('Request a round now; --wait follows it to its end')
  .option('--full', 'a full reconciliation', false)
  .option('--wait', 'wait for the run to end and print it', false)
  .option('--timeout <seconds>', 'how long --wait waits', positive, 600)
  .action(async function (this: Command, local: { full: boolean; wait: boolean; timeout: number }) {
    const { options, api } = context(this);
    const answer = await api.json<{ requestId: string }>('POST', tenantPath(options, '/sync'), {
      full: local.full,
    });
    if (!local.wait) {
      print(
        options,
        answer,
        () =>
          `Sync requested (request ${answer.requestId}); follow it with: entra-sync run ${answer.requestId}`,
      );
      return;
    }
    const deadline = Date.now() + local.timeout * 1000;
    for (;;) {
      const found = await api.call('GET', tenantPath(options, `/runs/${answer.requestId}`));
      if (found.status === 200) {
        const run = found.body as RunView;
        if (run.state !== 'running') {
          print(options, run, () => runLines(run));
          if (run.state === 'failed') process.exitCode = 1;
          return;
        }
      } else if (found.status !== 404) throw new ApiError(found.status, found.body);
      if (Date.now() > deadline)
        throw new Error(`the run of request ${answer.requestId} did not end in ${local.timeout} s`);
      await sleep(500);
    }
  });

program
  .command('runs')
  .description('The latest runs, newest first')
  .option('--top <n>', 'how many', positive, 10)
  .action(async function (this: Command, local: { top: number }) {
    const { options, api } = context(this);
    const body = await api.json<{ runs: RunView[] }>(
      'GET',
      `${tenantPath(options, '/runs')}?top=${local.top}`,
    );
    print(options, body, () =>
      table(
        ['run', 'trigger', 'state', 'started', 'counts', 'errors'],
        body.runs.map((r) => [
          r.runId,
          `${r.trigger}${r.full ? ' full' : ''}`,
          r.state,
          r.startedAt,
          counts(r.counts),
          r.errors.length,
        ]),
      ),
    );
  });

program
  .command('run <id>')
  .description('One run, by its id or by the request id `sync` printed')
  .action(async function (this: Command, id: string) {
    const { options, api } = context(this);
    const run = await api.json<RunView>('GET', tenantPath(options, `/runs/${encodeURIComponent(id)}`));
    print(options, run, () => runLines(run));
  });

program
  .command('approve <runId>')
  .description("Apply a held run's changes: all, or --people's")
  .option('--people <personIds...>', 'only these people')
  .option('--by <name>', 'who approves (recorded on the run)')
  .action(async function (this: Command, runId: string, local: { people?: string[]; by?: string }) {
    const { options, api } = context(this);
    const body = await api.json<Json>(
      'POST',
      tenantPath(options, `/runs/${encodeURIComponent(runId)}/approve`),
      {
        ...(local.people ? { people: local.people } : {}),
        ...(local.by ? { by: local.by } : {}),
      },
    );
    print(options, body, () =>
      fields(
        Object.entries(body).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : (v as string)]),
      ),
    );
  });

program
  .command('reject <runId>')
  .description('Drop what a held run still holds')
  .option('--by <name>', 'who rejects (recorded on the run)')
  .action(async function (this: Command, runId: string, local: { by?: string }) {
    const { options, api } = context(this);
    const body = await api.json<Json>(
      'POST',
      tenantPath(options, `/runs/${encodeURIComponent(runId)}/reject`),
      {
        ...(local.by ? { by: local.by } : {}),
      },
    );
    print(options, body, () =>
      fields(
        Object.entries(body).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : (v as string)]),
      ),
    );
  });

const settings = program.command('settings').description("The connection's settings");
settings
  .command('get')
  .description('The settings document and its version')
  .action(async function (this: Command) {
    const { options, api } = context(this);
    const body = await api.json<Json>('GET', tenantPath(options, '/settings'));
    print(options, body, () => JSON.stringify(body, null, 2));
  });
settings
  .command('set <file>')
  .description('Save a full settings document from a JSON file (- for stdin); re-projects everyone')
  .option('--if-match <version>', 'refuse (412) when the saved version is no longer this one')
  .action(async function (this: Command, file: string, local: { ifMatch?: string }) {
    const { options, api } = context(this);
    const document = await readJsonFile(file);
    const body = await api.json<{ version: number }>(
      'PUT',
      tenantPath(options, '/settings'),
      document,
      local.ifMatch ? { 'if-match': `"${local.ifMatch}"` } : {},
    );
    print(options, body, () => `Saved as version ${body.version}; everyone is re-projected under it.`);
  });
settings
  .command('preview <file>')
  .description('What saving a settings document would do now (nothing is saved)')
  .action(async function (this: Command, file: string) {
    const { options, api } = context(this);
    const body = await api.json<{ counts?: Record<string, number>; gate?: unknown }>(
      'POST',
      tenantPath(options, '/settings/preview'),
      await readJsonFile(file),
    );
    print(options, body, () =>
      fields([
        ['would change', counts(body.counts)],
        ['gate', JSON.stringify(body.gate ?? null)],
      ]),
    );
  });
settings
  .command('history')
  .description('Saved versions, newest first')
  .option('--top <n>', 'how many', positive, 20)
  .action(async function (this: Command, local: { top: number }) {
    const { options, api } = context(this);
    const body = await api.json<{ versions: { version: number; savedAt: string }[] }>(
      'GET',
      `${tenantPath(options, '/settings/history')}?top=${local.top}`,
    );
    print(options, body, () =>
      table(
        ['version', 'saved'],
        body.versions.map((v) => [v.version, v.savedAt]),
      ),
    );
  });

program
  .command('disputes')
  .description('Users whose email matched several people made by hand')
  .option('--state <state>', 'open or resolved')
  .action(async function (this: Command, local: { state?: string }) {
    const { options, api } = context(this);
    const body = await api.json<Json>(
      'GET',
      `${tenantPath(options, '/disputes')}${local.state ? `?state=${encodeURIComponent(local.state)}` : ''}`,
    );
    const list = (Array.isArray(body.disputes) ? body.disputes : []) as {
      id: string;
      state: string;
      candidates: string[];
      emails: string[];
    }[];
    print(options, body, () =>
      table(
        ['user', 'state', 'emails', 'candidates'],
        list.map((d) => [d.id, d.state, d.emails.join(' '), d.candidates.join(' ')]),
      ),
    );
  });

program
  .command('people')
  .description('The people of the directory')
  .option('--search <text>', 'display name or email contains')
  .option('--status <status>', 'created, invited, active, deactivated or removed')
  .option('--top <n>', 'page size', positive, 50)
  .action(async function (this: Command, local: { search?: string; status?: string; top: number }) {
    const { options, api } = context(this);
    const query = new URLSearchParams({ top: String(local.top) });
    if (options.tenant) query.set('tenantId', options.tenant);
    if (local.search) query.set('search', local.search);
    if (local.status) query.set('status', local.status);
    const body = await api.json<Json>('GET', `people?${query.toString()}`);
    const people = (
      Array.isArray(body.people) ? body.people : Array.isArray(body.items) ? body.items : []
    ) as Json[];
    print(options, body, () =>
      table(
        ['person', 'name', 'email', 'status'],
        people.map((p) => [text(p.personId), text(p.displayName), text(p.email), text(p.status)]),
      ),
    );
  });

program
  .command('events')
  .description("The app's event feed, in order; --follow keeps reading")
  .option('--after <cursor>', 'start after this cursor')
  .option('--limit <n>', 'events a request', positive, 100)
  .option('--follow', 'keep polling for new events (Ctrl+C stops)', false)
  .option('--interval <ms>', 'poll interval with --follow', positive, 1000)
  .action(async function (
    this: Command,
    local: { after?: string; limit: number; follow: boolean; interval: number },
  ) {
    const { options, api } = context(this);
    let after = local.after;
    let header = !options.json;
    for (;;) {
      const query = new URLSearchParams({ limit: String(local.limit) });
      if (after) query.set('after', after);
      if (options.tenant) query.set('tenantId', options.tenant);
      const body = await api.json<{ events?: Json[]; cursor?: string | null; more?: boolean }>(
        'GET',
        `events?${query.toString()}`,
      );
      const events = body.events ?? [];
      if (options.json) for (const event of events) out(JSON.stringify(event));
      else if (events.length > 0) {
        const rows = events.map((e) => [
          text(e.cursor),
          text(e.type),
          `${text(e.subject)} ${text(e.subjectId)}`,
          text(e.at),
        ]);
        const lines = table(['cursor', 'type', 'subject', 'at'], rows).split('\n');
        out((header ? lines : lines.slice(2)).join('\n'));
        header = false;
      }
      if (typeof body.cursor === 'string' && body.cursor !== '') after = body.cursor;
      if (body.more) continue;
      if (!local.follow) return;
      await sleep(local.interval);
    }
  });

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`entra-sync: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
