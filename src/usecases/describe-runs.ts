import type { Row } from '../adapters/storage/table-gateway.js';
import { RUN_OUTCOMES } from '../domain/person-plan.js';
import type { PipelineDeps } from './pipeline-deps.js';

export interface RunSummary {
  readonly runId: string;
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

export function summarize(row: Row, errors: readonly Row[]): RunSummary {
  return {
    runId: String(row.runId),
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
    errors: errors.map((e) => ({
      category: String(e.category),
      objectId: typeof e.objectId === 'string' && e.objectId !== '' ? e.objectId : null,
      message: String(e.message),
    })),
  };
}
