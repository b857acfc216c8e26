import type { TransactionAction } from '@azure/data-tables';

import type { SecurityAttributes } from '../../domain/directory.js';
import { TABLES } from './storage-names.js';
import type { TableGateway } from './table-gateway.js';

/** What a `dirUsers` row holds of a user's custom security attributes (two columns of the row). */
export interface StoredSecurityAttributes {
  /** The attributes as JSON ('' = never read). */
  readonly json: string;
  readonly etag: string;
}

/**
 * The security-attribute columns of one partition's `dirUsers` rows (only those columns and the
 * keys are read), by user id.
 */
export async function readSecurityAttributeColumns(
  tables: TableGateway,
  partitionKey: string,
): Promise<Map<string, StoredSecurityAttributes>> {
  const rows = await tables.listPartition(TABLES.dirUsers, partitionKey, {
    select: ['RowKey', 'securityAttributes'],
  });
  return new Map(
    rows.map((row) => [
      row.rowKey,
      {
        json: typeof row.securityAttributes === 'string' ? row.securityAttributes : '',
        etag: row.etag!,
      },
    ]),
  );
}

/**
 * Merges `securityAttributes` and `securityAttributesAt` into existing `dirUsers` rows, each
 * conditional on the ETag it was read with (a row written meanwhile rejects its batch with 412: the
 * caller reads again). Every other column of the row is left as it is.
 */
export async function mergeSecurityAttributes(
  tables: TableGateway,
  partitionKey: string,
  updates: ReadonlyArray<{ id: string; etag: string; attributes: SecurityAttributes }>,
  at: Date,
): Promise<void> {
  const actions: TransactionAction[] = updates.map((update) => [
    'update',
    {
      partitionKey,
      rowKey: update.id,
      securityAttributes: JSON.stringify(update.attributes),
      securityAttributesAt: at.toISOString(),
    },
    'Merge',
    { etag: update.etag },
  ]);
  await tables.transact(TABLES.dirUsers, actions);
}
