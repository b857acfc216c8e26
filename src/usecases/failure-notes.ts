import { createHash } from 'node:crypto';

import { TABLES } from '../adapters/storage/storage-names.js';
import type { TableGateway } from '../adapters/storage/table-gateway.js';
import { ERROR_CATEGORIES, type ErrorCategory, SyncError } from '../shared/errors.js';

/**
 * Remembers why, and how many times, a queue message failed, keyed by its body, so that when it ends
 * in the `-poison` queue (where the host moves it with its body intact, as a new message whose dequeue
 * count starts again) the drain can say why, and how many times it was delivered.
 */
export async function noteFailure(
  tables: TableGateway,
  queue: string,
  body: unknown,
  error: Error,
  dequeueCount = 0,
): Promise<void> {
  const rowKey = failureKey(queue, body);
  const previous = await tables.get(TABLES.syncState, 'failures', rowKey);
  await tables.upsert(TABLES.syncState, {
    partitionKey: 'failures',
    rowKey,
    queue,
    attempts: Number(previous?.attempts ?? 0) + 1,
    dequeueCount: Math.max(Number(previous?.dequeueCount ?? 0), dequeueCount),
    category: error instanceof SyncError ? error.category : 'transient',
    message: describeError(error).slice(0, 2000),
  });
}

/**
 * Notes a redelivery (dequeue count above 1) before the message is handled: a message whose handler
 * never returns (the host died, or it timed out) leaves no failure, but its deliveries are known.
 */
export async function noteDelivery(
  tables: TableGateway,
  queue: string,
  body: unknown,
  dequeueCount: number,
): Promise<void> {
  await tables
    .client(TABLES.syncState)
    .upsertEntity(
      { partitionKey: 'failures', rowKey: failureKey(queue, body), queue, dequeueCount },
      'Merge',
    );
  tables.meter.count(TABLES.syncState, 1, 1);
}

export interface NotedFailure {
  /** Failed invocations noted (0 when the message was only seen redelivered). */
  readonly attempts: number;
  /** The highest dequeue count the message was seen with. */
  readonly dequeueCount: number;
  readonly category: ErrorCategory;
  /** The last failure, or undefined when none was noted. */
  readonly message: string | undefined;
}

export async function lastFailure(
  tables: TableGateway,
  queue: string,
  body: unknown,
): Promise<NotedFailure | undefined> {
  const row = await tables.get(TABLES.syncState, 'failures', failureKey(queue, body));
  if (!row) return undefined;
  const category = ERROR_CATEGORIES.find((c) => c === row.category) ?? 'transient';
  return {
    attempts: Number(row.attempts ?? 0),
    dequeueCount: Number(row.dequeueCount ?? 0),
    category,
    message: typeof row.message === 'string' ? row.message : undefined,
  };
}

/** An error in one line, with the HTTP status and service code when it has them (SDK errors do). */
export function describeError(error: Error): string {
  const { statusCode, code } = error as { statusCode?: unknown; code?: unknown };
  const details = [statusCode, code].filter(
    (v) => typeof v === 'number' || (typeof v === 'string' && v !== ''),
  );
  const message = error.message.trim() === '' ? '(no message)' : error.message;
  return `${error.name}${details.length > 0 ? ` ${details.join(' ')}` : ''}: ${message}`;
}

function failureKey(queue: string, body: unknown): string {
  return createHash('sha256').update(queue).update(JSON.stringify(body)).digest('hex');
}
