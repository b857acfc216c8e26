import { createHash } from 'node:crypto';

import { TABLES } from '../adapters/storage/storage-names.js';
import type { TableGateway } from '../adapters/storage/table-gateway.js';
import { ERROR_CATEGORIES, type ErrorCategory, SyncError } from '../shared/errors.js';

/**
 * Remembers why, and how many times, a queue message failed, keyed by its body, so that when it ends
 * in the `-poison` queue (where the host moves it with its body intact) the drain can say why.
 */
export async function noteFailure(
  tables: TableGateway,
  queue: string,
  body: unknown,
  error: Error,
): Promise<void> {
  const rowKey = failureKey(queue, body);
  const previous = await tables.get(TABLES.syncState, 'failures', rowKey);
  await tables.upsert(TABLES.syncState, {
    partitionKey: 'failures',
    rowKey,
    queue,
    attempts: Number(previous?.attempts ?? 0) + 1,
    category: error instanceof SyncError ? error.category : 'transient',
    message: describeError(error).slice(0, 2000),
  });
}

export async function lastFailure(
  tables: TableGateway,
  queue: string,
  body: unknown,
): Promise<{ attempts: number; category: ErrorCategory; message: string } | undefined> {
  const row = await tables.get(TABLES.syncState, 'failures', failureKey(queue, body));
  if (!row || typeof row.message !== 'string') return undefined;
  const category = ERROR_CATEGORIES.find((c) => c === row.category) ?? 'transient';
  return { attempts: Number(row.attempts ?? 0), category, message: row.message };
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
