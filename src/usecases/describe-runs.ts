import type { Row } from '../adapters/storage/table-gateway.js';
import { RUN_OUTCOMES } from '../domain/person-plan.js';
import type { PipelineDeps } from './pipeline-deps.js';

export interface RunSummary {
  readonly runId: string;
  /** The requests this run answers (the `requestId` POST …/sync returned), when any. */
  readonly requestIds?: readonly string[];
  readonly trigger: string;
  readonly full: boolean;
  readonly state: string;
  readonly startedAt: string;
  readonly endedAt: string | null;
  readonly counts: Record<string, number>;
  readonly graphRequests: number;
  readonly directoryWrites: number;
  /** Why a `failed` run failed (null otherwise). */
  readonly failure: string | null;
  /** Chunks the watchdog published again because their host died, and its last note. */
  readonly recoveries: number;
  readonly lastRecovery: string | null;
  readonly errors: { category: string; objectId: string | null; message: string }[];
  /** Problems that are not failures of the sync (a manager out of the directory), also in `errors`. */
  readonly warnings: number;
  /**
   * The gate: `passed`, or `held` with what waits (counts per change kind) and the threshold that held
   * it; who approved or rejected, and when.
   */
  readonly gate: {
    readonly decision: string | null;
    readonly heldCounts: Record<string, number>;
    readonly threshold: string | null;
    readonly approvedBy: string | null;
    readonly approvedAt: string | null;
    readonly rejectedBy: string | null;
    readonly rejectedAt: string | null;
  };
}

/** Every run explained: its trigger, times, counts and errors, newest first. */
export async function describeRuns(deps: PipelineDeps, tenantId: string, top: number): Promise<RunSummary[]> {
  const rows = await deps.runs.list(tenantId, top);
  return Promise.all(
    rows.map(async (row) =>
      summarize(row, await deps.runs.listErrors({ tenantId, runId: String(row.runId) })),
    ),
  );
}

/**
 * One run by its id, or by the id of a request it answers (POST …/sync's `requestId`), among the
 * tenant's latest runs; undefined while the request waits in the queue, or for an unknown id.
 */
export async function findRun(
  deps: PipelineDeps,
  tenantId: string,
  id: string,
  recent = 200,
): Promise<RunSummary | undefined> {
  const row = (await deps.runs.list(tenantId, recent)).find(
    (r) => r.runId === id || requestIdsOf(r).includes(id),
  );
  return row ? summarize(row, await deps.runs.listErrors({ tenantId, runId: String(row.runId) })) : undefined;
}

function requestIdsOf(row: Row): string[] {
  return typeof row.requestIds === 'string' && row.requestIds !== '' ? row.requestIds.split(',') : [];
}

export function summarize(row: Row, errors: readonly Row[]): RunSummary {
  return {
    runId: String(row.runId),
    requestIds: requestIdsOf(row),
    trigger: String(row.trigger),
    full: row.full === true,
    state: String(row.state),
    startedAt: String(row.startedAt),
    endedAt: typeof row.endedAt === 'string' && row.endedAt !== '' ? row.endedAt : null,
    counts: Object.fromEntries(RUN_OUTCOMES.map((outcome) => [outcome, Number(row[outcome] ?? 0)])),
    graphRequests: Number(row.graphRequests ?? 0),
    directoryWrites: Number(row.directoryWrites ?? 0),
    failure: typeof row.failure === 'string' && row.failure !== '' ? row.failure : null,
    recoveries: Number(row.recoveries ?? 0),
    lastRecovery: typeof row.lastRecovery === 'string' && row.lastRecovery !== '' ? row.lastRecovery : null,
    warnings: Number(row.warnings ?? 0),
    gate: {
      decision: text(row.gate),
      heldCounts: JSON.parse(text(row.heldCounts) ?? '{}') as Record<string, number>,
      threshold: text(row.gateThreshold),
      approvedBy: text(row.approvedBy),
      approvedAt: text(row.approvedAt),
      rejectedBy: text(row.rejectedBy),
      rejectedAt: text(row.rejectedAt),
    },
    errors: errors.map((e) => ({
      category: String(e.category),
      objectId: typeof e.objectId === 'string' && e.objectId !== '' ? e.objectId : null,
      message: String(e.message),
    })),
  };
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}
