import type { RunNotificationState } from '../domain/run-notifications.js';
import type { RunSummary } from './describe-runs.js';

/**
 * What a run's notification says, the same in the mail and the webhook: the run, how it ended, its
 * counts, its errors (by category, and the first few), what waits for approval, and how to approve
 * (the HTTP route, built on the app's public URL, and the CLI line). Never a secret: only the run's
 * own record and the connection's name go in.
 */
export interface RunNotificationLinks {
  /** The run in the runs API (`GET`: its counts, errors and gate). */
  readonly run: string;
  /** `POST`: approves every held change (`{ "people": [personId…] }` for some). */
  readonly approve: string;
  /** `POST`: drops what is still held. */
  readonly reject: string;
  /** The same approval from a script. */
  readonly approveCommand: string;
}

export interface RunNotificationContent {
  readonly subject: string;
  readonly text: string;
  /** The webhook's JSON body (Standard Webhooks shape: type, timestamp, data). */
  readonly payload: RunNotificationPayload;
}

export interface RunNotificationPayload {
  readonly type: `run.${RunNotificationState}`;
  readonly timestamp: string;
  readonly data: {
    readonly tenantId: string;
    readonly connection: string;
    readonly runId: string;
    readonly state: RunNotificationState;
    readonly trigger: string;
    readonly full: boolean;
    readonly startedAt: string;
    readonly endedAt: string | null;
    readonly counts: Record<string, number>;
    readonly held: { readonly counts: Record<string, number>; readonly threshold: string | null } | null;
    readonly failure: string | null;
    readonly errors: {
      readonly total: number;
      readonly warnings: number;
      readonly byCategory: Record<string, number>;
      readonly first: readonly { readonly category: string; readonly message: string }[];
    };
    readonly links: RunNotificationLinks & { readonly approveMethod: 'POST' };
  };
}

/** Errors listed one by one; the rest are counted by category. */
export const LISTED_ERRORS = 10;

const STATE_WORDS: Record<RunNotificationState, string> = {
  completed: 'completed',
  'completed-with-errors': 'completed with errors',
  failed: 'failed',
  held: 'held',
};

export function runLinks(
  publicBaseUrl: string | undefined,
  cli: string,
  tenantId: string,
  runId: string,
): RunNotificationLinks {
  const base = (publicBaseUrl ?? '').replace(/\/+$/, '');
  const runs = `${base}/api/connections/${encodeURIComponent(tenantId)}/runs`;
  return {
    run: `${runs}/${encodeURIComponent(runId)}`,
    approve: `${runs}/${encodeURIComponent(runId)}/approve`,
    reject: `${runs}/${encodeURIComponent(runId)}/reject`,
    approveCommand: `${cli}${base ? ` --url ${base}` : ''} --tenant ${tenantId} approve ${runId}`,
  };
}

export function runNotificationContent(input: {
  readonly connection: { readonly tenantId: string; readonly displayName: string };
  readonly state: RunNotificationState;
  readonly run: RunSummary;
  readonly links: RunNotificationLinks;
  readonly now: Date;
}): RunNotificationContent {
  const { connection, state, run, links } = input;
  const counts = Object.fromEntries(Object.entries(run.counts).filter(([, n]) => n > 0));
  const heldCounts = Object.fromEntries(Object.entries(run.gate.heldCounts).filter(([, n]) => n > 0));
  const heldTotal = Object.values(heldCounts).reduce((sum, n) => sum + n, 0);
  const byCategory: Record<string, number> = {};
  for (const error of run.errors) byCategory[error.category] = (byCategory[error.category] ?? 0) + 1;
  const first = run.errors.slice(0, LISTED_ERRORS).map((e) => ({ category: e.category, message: e.message }));
  const held = state === 'held' ? { counts: heldCounts, threshold: run.gate.threshold } : null;

  const headline =
    state === 'held'
      ? `${heldTotal} change(s) wait for approval`
      : state === 'failed'
        ? (run.failure ?? 'the run failed')
        : (listCounts(counts) ?? 'no change');
  const subject = oneLine(`Sync run ${STATE_WORDS[state]} for ${connection.displayName}: ${headline}`, 250);

  const lines = [
    `The sync of ${connection.displayName} (tenant ${connection.tenantId}) ended ${STATE_WORDS[state]}` +
      (state === 'held' ? ': some changes wait for an admin’s approval.' : '.'),
    '',
    `Run ${run.runId} (${run.trigger}${run.full ? ', full' : ''}), started ${run.startedAt}` +
      (run.endedAt ? `, ended ${run.endedAt}` : ''),
    `Counts: ${listCounts(run.counts, true) ?? 'none'}`,
  ];
  if (run.failure) lines.push(`Failure: ${run.failure}`);
  if (held) {
    lines.push(
      '',
      `Held for approval: ${listCounts(heldCounts) ?? 'nothing'}` +
        (held.threshold ? ` (${held.threshold})` : ''),
      '',
      'To approve every held change:',
      `  POST ${links.approve}`,
      '  (body {} for all, or {"people": ["<personId>", ...]} for some; with the function key, or signed in',
      '  with the Sync.Admin role in Azure)',
      `  or from a script: ${links.approveCommand}`,
      `To reject them: POST ${links.reject}`,
    );
  }
  lines.push(
    '',
    `Errors: ${run.errors.length}` +
      (run.errors.length > 0 ? ` (${listCounts(byCategory) ?? ''})` : '') +
      (run.warnings > 0 ? `, of which ${run.warnings} warning(s)` : ''),
  );
  for (const error of first) lines.push(`  - ${error.category}: ${oneLine(error.message, 300)}`);
  if (run.errors.length > first.length) lines.push(`  … and ${run.errors.length - first.length} more`);
  lines.push('', `The run: GET ${links.run}`);

  return {
    subject,
    text: lines.join('\n'),
    payload: {
      type: `run.${state}`,
      timestamp: input.now.toISOString(),
      data: {
        tenantId: connection.tenantId,
        connection: connection.displayName,
        runId: run.runId,
        state,
        trigger: run.trigger,
        full: run.full,
        startedAt: run.startedAt,
        endedAt: run.endedAt,
        counts: run.counts,
        held,
        failure: run.failure,
        errors: { total: run.errors.length, warnings: run.warnings, byCategory, first },
        links: { ...links, approveMethod: 'POST' },
      },
    },
  };
}

function listCounts(counts: Record<string, number>, withZeros = false): string | undefined {
  const parts = Object.entries(counts)
    .filter(([, n]) => withZeros || n > 0)
    .map(([name, n]) => `${name} ${n}`);
  return parts.length > 0 ? parts.join(', ') : undefined;
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
