import { createHash, randomUUID } from 'node:crypto';

import { odata } from '@azure/data-tables';

import { RUN_OUTCOMES } from '../../domain/person-plan.js';
import type { ErrorCategory } from '../../shared/errors.js';
import { RecentPerScope } from '../../shared/recent-per-scope.js';
import {
  type ChunkReport,
  type DirectoryChunk,
  type OutcomeCounts,
  outcomeCountsSchema,
  type RunRef,
  type Trigger,
  type WriteCounts,
  writeCountsSchema,
} from '../../usecases/messages.js';
import { gatherText, spreadText } from './directory-rows.js';
import { TABLES } from './storage-names.js';
import { isWriteConflict, type Row, type TableGateway } from './table-gateway.js';

/**
 * `held`: the gate holds some of the run's changes for an admin (approve or reject them); `rejected`:
 * an admin dropped them; `expired`: nobody decided within the policy's lifetime (the next run re-plans).
 */
export const RUN_STATES = [
  'running',
  'completed',
  'completed-with-errors',
  'failed',
  'held',
  'rejected',
  'expired',
] as const;
export type RunState = (typeof RUN_STATES)[number];

export interface RunError {
  readonly category: ErrorCategory;
  readonly objectId: string | null;
  readonly message: string;
  /** Where it was found: `fetch`, `chunk:12`, `poison:directory-changes`, … */
  readonly source: string;
}

/** A new run's keys: the RowKey sorts newest first (inverted time), then the run id. */
/** The partition of a run's gate rows in runChunks: its parts, and the claim of the finalizer passing it. */
export function gatePartition(ref: Pick<RunRef, 'tenantId' | 'runId'>): string {
  return `${ref.tenantId}|${ref.runId}|gate`;
}

export function newRunRef(tenantId: string, now: Date = new Date()): RunRef {
  const runId = randomUUID();
  const inverted = (9_999_999_999_999 - now.getTime()).toString().padStart(13, '0');
  return { tenantId, runId, runKey: `${inverted}-${runId}` };
}

/** Ended runs this process has asked about (RunStore.endState), per storage account: an end is final. */
const endedRuns = new RecentPerScope<Promise<RunState | undefined>>(1_000);

const ENDED: ReadonlySet<RunState> = new Set([
  'completed',
  'completed-with-errors',
  'failed',
  'rejected',
  'expired',
]);

/**
 * One row per run (trigger, times, counts, state) and its error log (runErrors, one partition a run).
 */
export class RunStore {
  constructor(private readonly tables: TableGateway) {}

  async create(
    ref: RunRef,
    trigger: Trigger,
    full: boolean,
    now: string,
    seq = 0,
    requestIds: readonly string[] = [],
  ): Promise<void> {
    const row: Row = {
      partitionKey: ref.tenantId,
      rowKey: ref.runKey,
      runId: ref.runId,
      /** The requests this run answers (POST …/sync's ids), comma-separated. */
      requestIds: requestIds.join(','),
      seq,
      trigger,
      full,
      state: 'running' satisfies RunState,
      startedAt: now,
      endedAt: '',
      chunksTotal: -1,
      chunksDone: 0,
      errors: 0,
      graphRequests: 0,
      directoryWrites: 0,
      bookkeepingWrites: 0,
      transactions: 0,
      ...Object.fromEntries(RUN_OUTCOMES.map((outcome) => [outcome, 0])),
    };
    await this.tables.createIfAbsent(TABLES.runs, row);
  }

  /** Adds request ids to a run (a request that resumed a stalled round). */
  async addRequestIds(ref: RunRef, requestIds: readonly string[]): Promise<void> {
    if (requestIds.length === 0) return;
    await this.update(ref, (row) => {
      const known =
        typeof row.requestIds === 'string' && row.requestIds !== '' ? row.requestIds.split(',') : [];
      const ids = [...known, ...requestIds.filter((id) => !known.includes(id))].slice(-50);
      return ids.length === known.length ? undefined : { ...row, requestIds: ids.join(',') };
    });
  }

  /**
   * Whether the tenant's run `runId` has `completed`. A completed run stays so: this process asks the
   * table once for it, and again for a run not completed yet.
   */
  async hasCompleted(tenantId: string, runId: string): Promise<boolean> {
    return (await this.endState(tenantId, runId)) === 'completed';
  }

  /** How the run ended (undefined: it has not, or is unknown); asked once per process once it has ended. */
  async endState(tenantId: string, runId: string): Promise<RunState | undefined> {
    const { scope } = this.tables;
    const key = `${tenantId}|${runId}`;
    let answer = endedRuns.get(scope, key);
    if (!answer) {
      answer = this.tables
        .query(TABLES.runs, odata`PartitionKey eq ${tenantId} and runId eq ${runId}`, ['state'], 1)
        .then((rows) => {
          const state = rows[0]?.state as RunState | undefined;
          return state !== undefined && ENDED.has(state) ? state : undefined;
        });
      endedRuns.set(scope, key, answer);
      const asked = answer;
      const forget = (): void => {
        if (endedRuns.get(scope, key) === asked) endedRuns.delete(scope, key);
      };
      answer.then((state) => {
        if (state === undefined) forget();
      }, forget);
    }
    return answer;
  }

  async get(ref: Pick<RunRef, 'tenantId' | 'runKey'>): Promise<Row | undefined> {
    return this.tables.get(TABLES.runs, ref.tenantId, ref.runKey);
  }

  /** Newest first. */
  async list(tenantId: string, top = 20): Promise<Row[]> {
    return this.tables.query(TABLES.runs, odata`PartitionKey eq ${tenantId}`, undefined, top);
  }

  /**
   * Read-modify-write of a run row under ETag `If-Match`, retried on 412. `change` returns the new
   * row, or undefined to leave it as it is.
   */
  async update(ref: RunRef, change: (row: Row) => Row | undefined): Promise<Row | undefined> {
    return (await this.transition(ref, change)) ?? (await this.get(ref));
  }

  /**
   * A state transition won by one writer: applies `change` under ETag `If-Match` (re-read on 412) and
   * returns the row written, or undefined when `change` declined (someone else got there first).
   */
  async transition(ref: RunRef, change: (row: Row) => Row | undefined): Promise<Row | undefined> {
    for (let attempt = 0; attempt < 50; attempt += 1) {
      const row = await this.get(ref);
      if (!row) return undefined;
      const next = change(row);
      if (!next) return undefined;
      try {
        await this.tables.replaceIfMatch(TABLES.runs, withoutMetadata(next), row.etag!);
        return next;
      } catch (error) {
        if (!isWriteConflict(error)) throw error;
      }
    }
    throw new Error(`run ${ref.runId} is being updated by too many writers at once`);
  }

  async recordErrors(ref: RunRef, errors: readonly RunError[], now: string): Promise<void> {
    if (errors.length === 0) return;
    const partitionKey = `${ref.tenantId}|${ref.runId}`;
    const rows = new Map<string, Row>();
    for (const error of errors) {
      // Deterministic keys: a retried message records the same error once.
      const rowKey = createHash('sha1')
        .update(`${error.source}|${error.category}|${error.objectId ?? ''}|${error.message}`)
        .digest('hex')
        .slice(0, 24);
      rows.set(rowKey, {
        partitionKey,
        rowKey,
        category: error.category,
        objectId: error.objectId ?? '',
        message: error.message.slice(0, 4000),
        source: error.source,
        at: now,
      });
    }
    await this.tables.transact(
      TABLES.runErrors,
      [...rows.values()].map((row) => ['upsert', row, 'Replace'] as const),
    );
  }

  /**
   * A chunk's report to its run: `decided` (written before the chunk writes anything: the outcome
   * decided the first time, which a redelivery reports again) then `applied` (the chunk is done).
   */
  async recordChunk(ref: RunRef, report: ChunkReport, state: ChunkState = 'applied'): Promise<void> {
    await this.tables.upsert(TABLES.runChunks, chunkRow(ref, report, state));
  }

  /**
   * Chunks recorded and never sent (their fetcher died before the checkpoint past them): reported
   * applied, with nothing, so the run does not wait for them and nobody sends them.
   */
  async withdrawChunks(ref: RunRef, chunkIndexes: readonly number[]): Promise<void> {
    const nothing: ChunkReport = {
      chunkIndex: 0,
      counts: {},
      errors: 0,
      writes: { directoryWrites: 0, bookkeepingWrites: 0, transactions: 0 },
    };
    await this.tables.transact(
      TABLES.runChunks,
      chunkIndexes.map(
        (chunkIndex) =>
          [
            'upsert',
            { ...chunkRow(ref, { ...nothing, chunkIndex }, 'applied'), withdrawn: true },
            'Replace',
          ] as const,
      ),
    );
  }

  /** What a chunk reported so far (undefined: nothing yet). */
  async chunkReport(
    ref: Pick<RunRef, 'tenantId' | 'runId'>,
    chunkIndex: number,
  ): Promise<StoredChunkReport | undefined> {
    const row = await this.tables.get(TABLES.runChunks, `${ref.tenantId}|${ref.runId}`, chunkKey(chunkIndex));
    return row ? reportFromRow(row) : undefined;
  }

  /**
   * A part of a chunk's outcome: a bucket of a chunk that carries several, or one decided in a later
   * step of the same chunk (a bucket's team refresh after a group deletion); the first decision
   * stays. Its counts are added to the chunk's; its errors are for the chunk to count (its report
   * carries the chunk's total).
   */
  async recordChunkPart(
    ref: RunRef,
    chunkIndex: number,
    part: string,
    counts: OutcomeCounts,
    errors = 0,
  ): Promise<void> {
    await this.tables.createIfAbsent(TABLES.runChunks, {
      partitionKey: `${ref.tenantId}|${ref.runId}`,
      rowKey: `${chunkKey(chunkIndex)}.${part}`,
      state: 'part',
      counts: JSON.stringify(counts),
      writes: JSON.stringify({ directoryWrites: 0, bookkeepingWrites: 0, transactions: 0 }),
      errors,
    });
  }

  /** A part of a chunk as first decided (undefined: not yet). */
  async chunkPart(ref: RunRef, chunkIndex: number, part: string): Promise<StoredChunkReport | undefined> {
    const row = await this.tables.get(
      TABLES.runChunks,
      `${ref.tenantId}|${ref.runId}`,
      `${chunkKey(chunkIndex)}.${part}`,
    );
    return row ? reportFromRow(row) : undefined;
  }

  /**
   * What a step of the run's gate decided (`decision`, then one row per bucket whose held changes it
   * applied, and `managers`): in `<tenant>|<run>|gate`, the first decision stays (a redone gate after a
   * crash reports the same counts).
   */
  async recordGatePart(
    ref: Pick<RunRef, 'tenantId' | 'runId'>,
    part: string,
    counts: OutcomeCounts,
    errors: number,
    extra: Record<string, string | number> = {},
  ): Promise<void> {
    await this.tables.createIfAbsent(TABLES.runChunks, {
      partitionKey: gatePartition(ref),
      rowKey: part,
      counts: JSON.stringify(counts),
      errors,
      ...extra,
    });
  }

  async listGateParts(
    ref: Pick<RunRef, 'tenantId' | 'runId'>,
  ): Promise<{ part: string; counts: OutcomeCounts; errors: number; row: Row }[]> {
    const rows = await this.tables.listPartition(TABLES.runChunks, gatePartition(ref));
    return rows.map((row) => ({
      part: row.rowKey,
      counts: outcomeCountsSchema.parse(JSON.parse(typeof row.counts === 'string' ? row.counts : '{}')),
      errors: Number(row.errors ?? 0),
      row,
    }));
  }

  /**
   * Records chunk messages before they are sent (`<tenant>|<run>|published`, one row each, the body
   * spread over pieces), so that a chunk lost with a dead host can be published again.
   */
  async recordPublished(ref: RunRef, messages: readonly DirectoryChunk[]): Promise<void> {
    const partitionKey = `${ref.tenantId}|${ref.runId}|published`;
    await this.tables.transact(
      TABLES.runChunks,
      messages.map(
        (message) =>
          [
            'upsert',
            {
              partitionKey,
              rowKey: chunkKey(message.chunkIndex),
              ...spreadText('body', JSON.stringify(message)),
              republished: 0,
              lastPublishedAt: Date.now(),
            },
            'Replace',
          ] as const,
      ),
    );
  }

  /**
   * What was published and when (not the bodies: the watchdog reads every few seconds), from chunk
   * `from` on.
   */
  async listPublished(ref: Pick<RunRef, 'tenantId' | 'runId'>, from = 0): Promise<PublishedChunk[]> {
    const rows = await this.tables.listPartition(TABLES.runChunks, `${ref.tenantId}|${ref.runId}|published`, {
      select: ['RowKey', 'republished', 'lastPublishedAt', 'suspectedAt'],
      ...fromChunk(from),
    });
    return rows.map((row) => ({
      chunkIndex: Number(row.rowKey),
      republished: Number(row.republished ?? 0),
      lastPublishedAt: Number(row.lastPublishedAt ?? 0),
      suspectedAt: Number(row.suspectedAt ?? 0),
    }));
  }

  /** The watchdog saw these chunks taken and not begun, at `at` (its clock). */
  async markSuspected(ref: RunRef, chunkIndexes: readonly number[], at: number): Promise<void> {
    const partitionKey = `${ref.tenantId}|${ref.runId}|published`;
    await this.tables.transact(
      TABLES.runChunks,
      chunkIndexes.map(
        (chunkIndex) =>
          ['update', { partitionKey, rowKey: chunkKey(chunkIndex), suspectedAt: at }, 'Merge'] as const,
      ),
    );
  }

  /** The message a chunk was published with. */
  async publishedBody(ref: Pick<RunRef, 'tenantId' | 'runId'>, chunkIndex: number): Promise<unknown> {
    const row = await this.tables.get(
      TABLES.runChunks,
      `${ref.tenantId}|${ref.runId}|published`,
      chunkKey(chunkIndex),
    );
    return row ? (JSON.parse(gatherText(row, 'body')) as unknown) : undefined;
  }

  async markRepublished(ref: RunRef, chunk: PublishedChunk): Promise<void> {
    await this.tables.upsert(
      TABLES.runChunks,
      {
        partitionKey: `${ref.tenantId}|${ref.runId}|published`,
        rowKey: chunkKey(chunk.chunkIndex),
        republished: chunk.republished + 1,
        lastPublishedAt: Date.now(),
        suspectedAt: 0,
      },
      'Merge',
    );
  }

  /** A reconciler's heartbeat on the chunk it works on (`<tenant>|<run>|claims`). */
  async heartbeat(ref: RunRef, chunkIndex: number): Promise<void> {
    await this.tables.upsert(TABLES.runChunks, {
      partitionKey: `${ref.tenantId}|${ref.runId}|claims`,
      rowKey: chunkKey(chunkIndex),
      heartbeatAt: Date.now(),
    });
  }

  /** The last heartbeat of each chunk a reconciler has started, by chunk index, from chunk `from` on. */
  async heartbeats(ref: Pick<RunRef, 'tenantId' | 'runId'>, from = 0): Promise<Map<number, number>> {
    const rows = await this.tables.listPartition(
      TABLES.runChunks,
      `${ref.tenantId}|${ref.runId}|claims`,
      fromChunk(from),
    );
    return new Map(rows.map((row) => [Number(row.rowKey), Number(row.heartbeatAt ?? 0)]));
  }

  /**
   * Every chunk's report, its parts' counts added in; from chunk `from` on (the checks of a run in
   * progress read only past the chunks they know applied: applied-chunks.ts).
   */
  async listChunks(ref: Pick<RunRef, 'tenantId' | 'runId'>, from = 0): Promise<StoredChunkReport[]> {
    const rows = await this.tables.listPartition(
      TABLES.runChunks,
      `${ref.tenantId}|${ref.runId}`,
      fromChunk(from),
    );
    const reports = new Map<number, StoredChunkReport>();
    const parts: StoredChunkReport[] = [];
    for (const row of rows) {
      const report = reportFromRow(row);
      if (row.state === 'part') parts.push(report);
      else reports.set(report.chunkIndex, report);
    }
    for (const part of parts) {
      const main = reports.get(part.chunkIndex);
      if (!main) continue;
      const counts: Record<string, number> = { ...main.counts };
      for (const [name, n] of Object.entries(part.counts)) counts[name] = (counts[name] ?? 0) + n;
      reports.set(part.chunkIndex, { ...main, counts });
    }
    return [...reports.values()];
  }

  async listErrors(ref: Pick<RunRef, 'tenantId' | 'runId'>): Promise<Row[]> {
    return this.tables.listPartition(TABLES.runErrors, `${ref.tenantId}|${ref.runId}`);
  }

  /**
   * A later decision of a chunk (a redelivery, a retry after a write conflict) found errors: they are
   * recorded (once each, by key) and the chunk's report counts every error recorded for it, in
   * whatever state the report is.
   */
  async recordLaterErrors(
    ref: RunRef,
    chunkIndex: number,
    source: string,
    errors: readonly RunError[],
    now: string,
  ): Promise<number> {
    await this.recordErrors(ref, errors, now);
    const recorded = await this.countErrors(ref, source);
    await this.tables.upsert(
      TABLES.runChunks,
      { partitionKey: `${ref.tenantId}|${ref.runId}`, rowKey: chunkKey(chunkIndex), errors: recorded },
      'Merge',
    );
    return recorded;
  }

  /** How many errors the run holds from this source (each recorded once, by key). */
  async countErrors(ref: Pick<RunRef, 'tenantId' | 'runId'>, source: string): Promise<number> {
    const partitionKey = `${ref.tenantId}|${ref.runId}`;
    const recorded = await this.tables.query(
      TABLES.runErrors,
      odata`PartitionKey eq ${partitionKey} and source eq ${source}`,
      ['RowKey'],
    );
    return recorded.length;
  }
}

export type ChunkState = 'decided' | 'applied';

/** A chunk message its fetcher published, and how often the watchdog published it again. */
export interface PublishedChunk {
  readonly chunkIndex: number;
  readonly republished: number;
  readonly lastPublishedAt: number;
  /** When the watchdog first saw its latest copy taken and not begun (0: never); see WATCHDOG. */
  readonly suspectedAt: number;
}

export interface StoredChunkReport extends ChunkReport {
  readonly state: ChunkState;
}

function chunkKey(chunkIndex: number): string {
  return chunkIndex.toString().padStart(8, '0');
}

/** The rows of chunks `from` and later (a part's key, `<chunk>.<part>`, sorts after its chunk's). */
function fromChunk(from: number): { rowKeyFrom?: string } {
  return from > 0 ? { rowKeyFrom: chunkKey(from) } : {};
}

/** A chunk's report, as a row of its run's partition in `runChunks`. */
function chunkRow(ref: Pick<RunRef, 'tenantId' | 'runId'>, report: ChunkReport, state: ChunkState): Row {
  return {
    partitionKey: `${ref.tenantId}|${ref.runId}`,
    rowKey: chunkKey(report.chunkIndex),
    state,
    counts: JSON.stringify(report.counts),
    writes: JSON.stringify(report.writes),
    errors: report.errors,
  };
}

function reportFromRow(row: Row): StoredChunkReport {
  return {
    chunkIndex: Number(row.rowKey.split('.')[0]),
    state: row.state === 'decided' ? 'decided' : 'applied',
    counts: outcomeCountsSchema.parse(JSON.parse(String(row.counts))),
    writes: writeCountsSchema.parse(JSON.parse(String(row.writes))),
    errors: Number(row.errors ?? 0),
  };
}

export function addCounts(row: Row, counts: OutcomeCounts): void {
  for (const outcome of RUN_OUTCOMES) {
    row[outcome] = Number(row[outcome] ?? 0) + (counts[outcome] ?? 0);
  }
}

export function addWrites(row: Row, writes: WriteCounts): void {
  row.directoryWrites = Number(row.directoryWrites ?? 0) + writes.directoryWrites;
  row.bookkeepingWrites = Number(row.bookkeepingWrites ?? 0) + writes.bookkeepingWrites;
  row.transactions = Number(row.transactions ?? 0) + writes.transactions;
}

function withoutMetadata(row: Row): Row {
  const copy: Row = { ...row };
  delete copy.etag;
  delete copy.timestamp;
  delete (copy as Record<string, unknown>)['odata.metadata'];
  return copy;
}
