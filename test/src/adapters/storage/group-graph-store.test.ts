/** The group graph each chunk plans with, on Azurite: read once per version, however many chunks ask at once. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type EmbeddedAzurite, startAzurite } from '../../../../local/azurite/embedded-azurite.js';
import { GroupGraphStore } from '../../../../src/adapters/storage/group-graph-store.js';
import { storageAccountFromConnectionString } from '../../../../src/adapters/storage/storage-account.js';
import { type TableName, TABLES } from '../../../../src/adapters/storage/storage-names.js';
import { type Row, TableGateway } from '../../../../src/adapters/storage/table-gateway.js';

/** Counts the queries of the groups mirror. */
class CountingGateway extends TableGateway {
  groupQueries = 0;

  override query(table: TableName, filter: string, select?: string[], top?: number): Promise<Row[]> {
    if (table === TABLES.dirGroups) this.groupQueries += 1;
    return super.query(table, filter, select, top);
  }
}

describe('the group graph store', () => {
  let azurite: EmbeddedAzurite;
  let tables: CountingGateway;

  beforeAll(async () => {
    azurite = await startAzurite();
    tables = new CountingGateway(storageAccountFromConnectionString(azurite.connectionString));
    await tables.client(TABLES.dirGroups).createTable();
    await tables.client(TABLES.syncState).createTable();
  });
  afterAll(async () => {
    await azurite?.stop();
  });

  it('reads the groups mirror once for chunks that ask at the same moment, and again once it moved', async () => {
    const tenantId = '0d4b4a55-5f5e-4f55-9d8a-2f1c1b1a0e01';
    const store = new GroupGraphStore(tables);
    await tables.upsert(TABLES.dirGroups, { partitionKey: tenantId, rowKey: 'group-a', deleted: false });

    const first = await Promise.all(Array.from({ length: 8 }, () => store.load(tenantId)));
    expect(tables.groupQueries).toBe(1);
    expect(new Set(first).size).toBe(1);
    expect([...first[0]!.alive]).toEqual(['group-a']);

    await tables.upsert(TABLES.dirGroups, { partitionKey: tenantId, rowKey: 'group-b', deleted: false });
    await store.bump(tenantId);
    const second = await Promise.all(Array.from({ length: 8 }, () => store.load(tenantId)));
    expect(tables.groupQueries).toBe(2);
    expect([...second[0]!.alive].sort()).toEqual(['group-a', 'group-b']);
    // Nothing moved: the graph kept in the process answers.
    await store.load(tenantId);
    expect(tables.groupQueries).toBe(2);
  });
});
