/**
 * The bench's storage baseline (bench/pipeline-baseline.ts): the entities the pipeline wrote, read once from
 * its Azurite, then upserted (same tables, keys, batches of 100 per partition, same concurrency) either into a
 * fresh Azurite of their own (`storageBaseline`: nobody else's rows slow either side) or, as before, into
 * `<table>Baseline` tables of the pipeline's Azurite after the sync (`storageBaselineAfterSync`).
 */
import { TableClient, TableServiceClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  dropAfterSyncTables,
  readBaselineEntities,
  writeBaseline,
} from '../../../bench/pipeline-baseline.js';
import { type EmbeddedAzurite, startAzurite } from '../../../local/azurite/embedded-azurite.js';
import { DIRECTORY_TABLES } from '../../../src/adapters/storage/storage-names.js';
import { bucketPartition } from '../../../src/domain/bucket.js';

const TENANT = '11111111-2222-3333-4444-555555555555';
const [USERS_TABLE, PEOPLE_TABLE] = [...DIRECTORY_TABLES] as [string, string, ...string[]];

let source: EmbeddedAzurite;
let fresh: EmbeddedAzurite;

const table = (azurite: EmbeddedAzurite, name: string): TableClient =>
  TableClient.fromConnectionString(azurite.connectionString, name, { allowInsecureConnection: true });

async function rows(azurite: EmbeddedAzurite, name: string): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  for await (const row of table(azurite, name).listEntities()) {
    const { etag: _etag, timestamp: _timestamp, ...rest } = row as Record<string, unknown>;
    out.push(rest);
  }
  return out.sort((a, b) =>
    `${String(a.partitionKey)}/${String(a.rowKey)}`.localeCompare(
      `${String(b.partitionKey)}/${String(b.rowKey)}`,
    ),
  );
}

async function tableNames(azurite: EmbeddedAzurite): Promise<string[]> {
  const service = TableServiceClient.fromConnectionString(azurite.connectionString, {
    allowInsecureConnection: true,
  });
  const names: string[] = [];
  for await (const t of service.listTables()) names.push(t.name!);
  return names.sort();
}

beforeAll(async () => {
  [source, fresh] = await Promise.all([startAzurite(), startAzurite()]);
  for (const name of DIRECTORY_TABLES) await table(source, name).createTable();
  // 250 users over 3 buckets (batches of 100, 100, 50 … per partition), 120 people over 2, and another
  // tenant's rows that the baseline must leave out.
  const write = async (name: string, count: number, buckets: number): Promise<void> => {
    for (let i = 0; i < count; i++) {
      await table(source, name).upsertEntity(
        { partitionKey: bucketPartition(TENANT, i % buckets), rowKey: `obj-${i}`, n: i, text: `row ${i}` },
        'Replace',
      );
    }
  };
  await write(USERS_TABLE, 250, 3);
  await write(PEOPLE_TABLE, 120, 2);
  await table(source, USERS_TABLE).upsertEntity({ partitionKey: 'other-tenant|00', rowKey: 'x', n: -1 });
});
afterAll(async () => {
  await Promise.all([source.stop(), fresh.stop()]);
});

describe('storage baseline', () => {
  it("writes the pipeline's very entities into a fresh Azurite, same tables and keys, leaving the pipeline's Azurite untouched", async () => {
    const entities = await readBaselineEntities({
      connectionString: source.connectionString,
      tenantId: TENANT,
    });
    expect(entities.entitiesByTable[USERS_TABLE]).toBe(250);
    expect(entities.entitiesByTable[PEOPLE_TABLE]).toBe(120);
    const tablesBefore = await tableNames(source);

    const figures = await writeBaseline(entities, {
      connectionString: fresh.connectionString,
      target: 'fresh',
      concurrency: 4,
    });
    expect(figures).toMatchObject({ entities: 370, partitions: 5, concurrency: 4, partial: false });
    // 3 user partitions of 84/83/83 and 2 people partitions of 60: one batch each.
    expect(figures.transactions).toBe(5);
    expect(await rows(fresh, USERS_TABLE)).toEqual(
      (await rows(source, USERS_TABLE)).filter((r) => r.partitionKey !== 'other-tenant|00'),
    );
    expect(await rows(fresh, PEOPLE_TABLE)).toEqual(await rows(source, PEOPLE_TABLE));
    expect(await tableNames(source)).toEqual(tablesBefore);
  });

  it('refuses a target that is not fresh (it already holds tables)', async () => {
    const entities = await readBaselineEntities({
      connectionString: source.connectionString,
      tenantId: TENANT,
    });
    await expect(
      writeBaseline(entities, { connectionString: fresh.connectionString, target: 'fresh', concurrency: 2 }),
    ).rejects.toThrow(/not fresh/);
  });

  it("after the sync: writes <table>Baseline tables beside the pipeline's rows, in its own Azurite, and drops them once measured", async () => {
    const entities = await readBaselineEntities({
      connectionString: source.connectionString,
      tenantId: TENANT,
    });
    const figures = await writeBaseline(entities, {
      connectionString: source.connectionString,
      target: 'after-sync',
      concurrency: 2,
    });
    expect(figures.entities).toBe(370);
    expect(await rows(source, `${USERS_TABLE}Baseline`)).toEqual(
      (await rows(source, USERS_TABLE)).filter((r) => r.partitionKey !== 'other-tenant|00'),
    );
    expect(await tableNames(source)).toEqual(
      [...DIRECTORY_TABLES, ...[...DIRECTORY_TABLES].map((t) => `${t}Baseline`)].sort(),
    );
    const pipelineRows = await rows(source, USERS_TABLE);

    await dropAfterSyncTables(source.connectionString);
    expect(await tableNames(source)).toEqual([...DIRECTORY_TABLES].sort());
    expect(await rows(source, USERS_TABLE)).toEqual(pipelineRows);
  });
});
