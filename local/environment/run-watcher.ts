import { setTimeout as sleep } from 'node:timers/promises';

import type { Row } from '../../src/adapters/storage/table-gateway.js';
import type { AppServices } from '../../src/app-services.js';
import { type RunSummary, summarize } from '../../src/usecases/describe-runs.js';
import type { ChunkReport } from '../../src/usecases/messages.js';

export function isFinished(row: Row | undefined): boolean {
  return row !== undefined && row.state !== 'running';
}

/**
 * Waits until the first run newer than `afterRunKey` (RowKeys sort newest first) has finished: the run
 * that serves a request made then, not the latest one (a follow-up round, or a watchdog's request to
 * resume a round that resumed by itself, can start and finish while it still runs). Reports the run
 * row on every poll; resolves with its summary and errors.
 */
export async function waitForRun(
  services: AppServices,
  tenantId: string,
  options: {
    afterRunKey?: string;
    timeoutMs?: number;
    /** The run row and the reports of the chunks applied so far. */
    onProgress?: (row: Row, chunks: readonly ChunkReport[]) => void | Promise<void>;
    pollMs?: number;
  } = {},
): Promise<RunSummary> {
  const deadline = Date.now() + (options.timeoutMs ?? 10 * 60_000);
  for (;;) {
    const row = await firstRunAfter(services, tenantId, options.afterRunKey);
    if (row) {
      if (options.onProgress) {
        const chunks = await services.deps().runs.listChunks({ tenantId, runId: String(row.runId) });
        await options.onProgress(row, chunks);
      }
      if (isFinished(row)) {
        const errors = await services.deps().runs.listErrors({ tenantId, runId: String(row.runId) });
        return summarize(row, errors);
      }
    }
    if (Date.now() > deadline) throw new Error(`no finished run for tenant ${tenantId} in time`);
    await sleep(options.pollMs ?? 250);
  }
}

/** The oldest of the tenant's latest runs that started after `afterRunKey` (any, without one). */
async function firstRunAfter(
  services: AppServices,
  tenantId: string,
  afterRunKey: string | undefined,
): Promise<Row | undefined> {
  const rows = await services.deps().runs.list(tenantId, 20);
  return rows.filter((row) => afterRunKey === undefined || row.rowKey < afterRunKey).at(-1);
}
