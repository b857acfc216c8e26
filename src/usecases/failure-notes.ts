import { createHash } from 'node:crypto';

import { TABLES } from '../adapters/storage/storage-names.js';
import type { TableGateway } from '../adapters/storage/table-gateway.js';

/**
 * Remembers why a queue message failed, keyed by its body, so that when it ends in the `-poison`
 * queue (where the host moves it with its body intact) the drain can say why.
 */
export async function noteFailure(
  tables: TableGateway,
  queue: string,
  body: unknown,
  error: Error,
): Promise<void> {
  await tables.upsert(TABLES.syncState, {
    partitionKey: 'failures',
    rowKey: failureKey(queue, body),
    queue,
    message: `${error.name}: ${error.message}`.slice(0, 2000),
  });
}

export async function lastFailure(
  tables: TableGateway,
  queue: string,
  body: unknown,
): Promise<string | undefined> {
  const row = await tables.get(TABLES.syncState, 'failures', failureKey(queue, body));
  return typeof row?.message === 'string' ? row.message : undefined;
}

function failureKey(queue: string, body: unknown): string {
  return createHash('sha256').update(queue).update(JSON.stringify(body)).digest('hex');
}
