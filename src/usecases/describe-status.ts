import { z } from 'zod';

import type { DisputeStore } from '../adapters/storage/dispute-store.js';
import { TABLES } from '../adapters/storage/storage-names.js';
import type { SubscriptionStore } from '../adapters/storage/subscription-store.js';
import { describeRuns, type RunSummary, summarize } from './describe-runs.js';
import type { PipelineDeps } from './pipeline-deps.js';
import { lastPermissionCheck } from './record-permissions.js';

/**
 * A connection's health at a glance (GET /api/connections/{tenantId}/status): the last run with its
 * errors by category, the next due time, how old the delta tokens are, the subscriptions' expiry,
 * held changes, the last permission check and open disputes. Read-only, a handful of table reads.
 */
const count = z.record(z.string(), z.number());
const runSchema = z.object({
  runId: z.string(),
  trigger: z.string(),
  full: z.boolean(),
  state: z.string(),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  counts: count,
  errors: z.number().int().describe('errors and warnings recorded on the run'),
  errorsByCategory: count,
  warnings: z.number().int(),
  failure: z.string().nullable(),
  gate: z.object({ decision: z.string().nullable(), heldCounts: count, threshold: z.string().nullable() }),
});

export const connectionStatusSchema = z.object({
  tenantId: z.string(),
  displayName: z.string(),
  enabled: z.boolean(),
  schedule: z.object({
    kind: z.string(),
    nextDueAt: z.string().nullable().describe('when the schedule next asks for a round; null for manual'),
  }),
  lastRun: runSchema.nullable(),
  /** The round in flight, if any. */
  running: z.object({ runId: z.string(), startedAt: z.string() }).nullable(),
  deltaToken: z.object({
    present: z.boolean().describe('whether the next round can be incremental (users and groups links)'),
    savedAt: z.string().nullable(),
    ageSeconds: z.number().nullable(),
    lastRound: z.number().int(),
  }),
  subscriptions: z.object({
    state: z.enum(['active', 'failing', 'none']),
    lastError: z.string(),
    items: z.array(z.object({ subscriptionId: z.string(), resource: z.string(), expiresAt: z.string() })),
    nextExpiry: z.string().nullable(),
  }),
  held: z.object({
    runs: z.array(
      z.object({
        runId: z.string(),
        startedAt: z.string(),
        heldCounts: count,
        threshold: z.string().nullable(),
      }),
    ),
    total: z.number().int(),
  }),
  permissions: z
    .object({ roles: z.array(z.string()), missing: z.array(z.string()), checkedAt: z.string() })
    .nullable()
    .describe("the last round's token roles; null before the first round"),
  disputes: z.object({ open: z.number().int(), ids: z.array(z.string()) }),
});
export type ConnectionStatus = z.infer<typeof connectionStatusSchema>;

export interface StatusDeps {
  readonly pipeline: PipelineDeps;
  readonly disputes: DisputeStore;
  readonly subscriptions: SubscriptionStore;
}

/** How many recent runs are scanned for held ones (a held run waits at most its lifetime, 7 days). */
const RECENT_RUNS = 50;

export async function describeStatus(
  deps: StatusDeps,
  tenantId: string,
): Promise<ConnectionStatus | undefined> {
  const { pipeline } = deps;
  const connection = await pipeline.connections.get(tenantId);
  if (!connection) return undefined;
  const now = pipeline.now();
  const [rows, latest, cursorRow, subscriptions, subscriptionStatus, permissions, disputes] =
    await Promise.all([
      pipeline.runs.list(tenantId, RECENT_RUNS),
      describeRuns(pipeline, tenantId, 1),
      pipeline.tables.get(TABLES.syncState, tenantId, 'cursor'),
      deps.subscriptions.list(),
      deps.subscriptions.status(tenantId),
      lastPermissionCheck(pipeline.tables, tenantId),
      deps.disputes.list(tenantId),
    ]);
  const { cursor } = await pipeline.syncState.readCursor(tenantId);
  const running = rows.find((row) => row.state === 'running');
  let savedAt: string | null = null;
  if (cursor.usersDeltaLink && cursor.groupsDeltaLink) {
    if (!cursor.round && typeof cursorRow?.timestamp === 'string') savedAt = cursorRow.timestamp;
    else if (cursor.lastRunKey) {
      const last = await pipeline.runs.get({ tenantId, runKey: cursor.lastRunKey });
      savedAt = typeof last?.startedAt === 'string' ? last.startedAt : null;
    }
  }
  const held = rows.filter((row) => row.state === 'held').map((row) => summarize(row, []));
  const mine = subscriptions
    .filter((s) => s.tenantId === tenantId)
    .map((s) => ({
      subscriptionId: s.subscriptionId,
      resource: s.resource,
      expiresAt: s.expiresAt.toISOString(),
    }))
    .sort((a, b) => a.expiresAt.localeCompare(b.expiresAt));
  const open = disputes.filter((d) => d.state === 'open');
  return {
    tenantId,
    displayName: connection.settings.displayName,
    enabled: connection.settings.enabled,
    schedule: { kind: connection.settings.schedule.kind, nextDueAt: connection.nextDueAt || null },
    lastRun: latest[0] ? lastRunOf(latest[0]) : null,
    running: running ? { runId: String(running.runId), startedAt: String(running.startedAt) } : null,
    deltaToken: {
      present: Boolean(cursor.usersDeltaLink && cursor.groupsDeltaLink),
      savedAt,
      ageSeconds: savedAt ? Math.max(0, Math.round((now.getTime() - Date.parse(savedAt)) / 1000)) : null,
      lastRound: cursor.lastRound,
    },
    subscriptions: {
      state: subscriptionStatus.state,
      lastError: subscriptionStatus.lastError,
      items: mine,
      nextExpiry: mine[0]?.expiresAt ?? null,
    },
    held: {
      runs: held.map((run) => ({
        runId: run.runId,
        startedAt: run.startedAt,
        heldCounts: run.gate.heldCounts,
        threshold: run.gate.threshold,
      })),
      total: held.reduce(
        (sum, run) => sum + Object.values(run.gate.heldCounts).reduce((a, b) => a + b, 0),
        0,
      ),
    },
    permissions: permissions
      ? { roles: [...permissions.roles], missing: [...permissions.missing], checkedAt: permissions.checkedAt }
      : null,
    disputes: { open: open.length, ids: open.slice(0, 20).map((d) => d.id) },
  };
}

function lastRunOf(run: RunSummary): NonNullable<ConnectionStatus['lastRun']> {
  const errorsByCategory: Record<string, number> = {};
  for (const error of run.errors)
    errorsByCategory[error.category] = (errorsByCategory[error.category] ?? 0) + 1;
  return {
    runId: run.runId,
    trigger: run.trigger,
    full: run.full,
    state: run.state,
    startedAt: run.startedAt,
    endedAt: run.endedAt,
    counts: run.counts,
    errors: run.errors.length,
    errorsByCategory,
    warnings: run.warnings,
    failure: run.failure,
    gate: { decision: run.gate.decision, heldCounts: run.gate.heldCounts, threshold: run.gate.threshold },
  };
}
