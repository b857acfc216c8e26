/**
 * What one reconcile chunk pays to read, at the tenant's final size: a chunk of more than a few users
 * reads its bucket's whole partition in each bucketed directory table it touches (TableGateway.readRows
 * scans the partition beyond a few keys; see src/usecases/reconcile-chunk.ts). Times a scan of one
 * bucket's partition in every directory table (unbucketed tables answer empty), for a few buckets.
 */
import { odata, TableClient } from '@azure/data-tables';

import { DIRECTORY_TABLES } from '../src/adapters/storage/storage-names.js';
import { bucketPartition, DEFAULT_BUCKETS } from '../src/domain/bucket.js';

export interface ChunkScanFigures {
  readonly bucketsProbed: number;
  readonly tables: string[];
  /** Rows in one bucket's partitions (mean over the buckets probed). */
  readonly rowsPerBucket: number;
  /** Time to scan them one table after the other, as a chunk does (mean). */
  readonly msPerBucket: number;
  readonly rowsPerSecond: number;
}

export async function measureChunkScan(options: {
  connectionString: string;
  tenantId: string;
  buckets?: number;
  probes?: number;
}): Promise<ChunkScanFigures> {
  const buckets = options.buckets ?? DEFAULT_BUCKETS;
  const probes = Math.min(options.probes ?? 8, buckets);
  const tables = [...DIRECTORY_TABLES];
  const clients = tables.map((table) =>
    TableClient.fromConnectionString(options.connectionString, table, { allowInsecureConnection: true }),
  );
  let rows = 0;
  let ms = 0;
  for (let i = 0; i < probes; i += 1) {
    const partitionKey = bucketPartition(options.tenantId, Math.floor((i * buckets) / probes));
    const started = performance.now();
    for (const client of clients) {
      const entities = client.listEntities({
        queryOptions: { filter: odata`PartitionKey eq ${partitionKey}` },
      });
      for await (const page of entities.byPage({ maxPageSize: 1000 })) rows += page.length;
    }
    ms += performance.now() - started;
  }
  return {
    bucketsProbed: probes,
    tables,
    rowsPerBucket: Math.round(rows / probes),
    msPerBucket: Math.round(ms / probes),
    rowsPerSecond: ms > 0 ? Math.round((rows / ms) * 1000) : 0,
  };
}
