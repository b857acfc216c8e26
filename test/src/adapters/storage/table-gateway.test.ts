import type { TransactionAction } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type EmbeddedAzurite, startAzurite } from '../../../../local/azurite/embedded-azurite.js';
import { storageAccountFromConnectionString } from '../../../../src/adapters/storage/storage-account.js';
import { TABLES } from '../../../../src/adapters/storage/storage-names.js';
import { TableGateway } from '../../../../src/adapters/storage/table-gateway.js';
import { TableLimitError } from '../../../../src/adapters/storage/table-limits.js';

/** Azure's limits, enforced by the one table gateway against Azurite (which accepts some of these). */
describe('the table gateway enforces Table Storage limits before writing', () => {
  let azurite: EmbeddedAzurite;
  let tables: TableGateway;
  const pk = 'limits|00';

  beforeAll(async () => {
    azurite = await startAzurite();
    tables = new TableGateway(storageAccountFromConnectionString(azurite.connectionString));
    await tables.client(TABLES.dirUsers).createTable();
  });
  afterAll(async () => {
    await azurite?.stop();
  });

  it('refuses a string property over 32K UTF-16 units with an error naming table, key and property, and writes nothing', async () => {
    const row = { partitionKey: pk, rowKey: 'big-string', small: 'ok', memberships: 'x'.repeat(40_000) };
    const refused = tables.transact(TABLES.dirUsers, [['upsert', row, 'Replace']]);
    await expect(refused).rejects.toBeInstanceOf(TableLimitError);
    await expect(refused).rejects.toThrow(
      /table dirUsers, entity \(limits\|00, big-string\), property memberships/,
    );
    expect(await tables.get(TABLES.dirUsers, pk, 'big-string')).toBeUndefined();
    await expect(tables.upsert(TABLES.dirUsers, row)).rejects.toBeInstanceOf(TableLimitError);
  });

  it('refuses an entity over 1 MiB and one with more than 252 properties', async () => {
    const huge: Record<string, unknown> = { partitionKey: pk, rowKey: 'huge' };
    for (let i = 0; i < 20; i += 1) huge[`p${i}`] = 'y'.repeat(30_000);
    await expect(tables.upsert(TABLES.dirUsers, huge as never)).rejects.toThrow(/exceeds 1 MiB/);
    const wide: Record<string, unknown> = { partitionKey: pk, rowKey: 'wide' };
    for (let i = 0; i < 253; i += 1) wide[`p${i}`] = i;
    await expect(tables.upsert(TABLES.dirUsers, wide as never)).rejects.toThrow(/253 properties exceed 252/);
  });

  it('refuses a key with a character Table Storage forbids', async () => {
    await expect(
      tables.upsert(TABLES.dirUsers, { partitionKey: pk, rowKey: 'a/b', value: 1 }),
    ).rejects.toThrow(/RowKey: contains/);
  });

  it('splits 150 entities of 60 KB (9 MB) into batches under 100 operations and 4 MiB, and writes them all', async () => {
    const actions: TransactionAction[] = [];
    for (let i = 0; i < 150; i += 1) {
      actions.push([
        'upsert',
        {
          partitionKey: pk,
          rowKey: `row-${String(i).padStart(3, '0')}`,
          a: 'z'.repeat(15_000),
          b: 'w'.repeat(15_000),
        },
        'Replace',
      ]);
    }
    const before = tables.meter.transactions;
    await tables.transact(TABLES.dirUsers, actions);
    const rows = await tables.listPartition(TABLES.dirUsers, pk, { rowKeyFrom: 'row-', rowKeyTo: 'row.' });
    expect(rows).toHaveLength(150);
    // 60 KB an entity: at most 68 fit under 4 MiB, so at least 3 batches.
    expect(tables.meter.transactions - before).toBeGreaterThanOrEqual(3);
  });

  it('refuses a batch that spans two partitions', async () => {
    await expect(
      tables.transact(TABLES.dirUsers, [
        ['upsert', { partitionKey: pk, rowKey: 'one', v: 1 }, 'Replace'],
        ['upsert', { partitionKey: 'other', rowKey: 'two', v: 2 }, 'Replace'],
      ]),
    ).rejects.toThrow(/spans two partitions/);
  });
});
