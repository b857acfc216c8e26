import { odata } from '@azure/data-tables';

import { bucketPartition, personBucketOf, tenantPartitionRange } from '../../domain/bucket.js';
import type { PersonRecord } from '../../domain/person.js';
import type { PersonStatus } from '../../domain/person-status.js';
import { personFromRow, personToRow, spreadColumns, type StoredPerson } from './directory-rows.js';
import { TABLES } from './storage-names.js';
import { isWriteConflict, type Row, type TableGateway } from './table-gateway.js';

/** Where a scan of the people table stopped: the keys of the last row it read. */
export interface PeopleCursor {
  readonly partitionKey: string;
  readonly rowKey: string;
}

/** A person as read for an edit: the parsed record, its ETag and the raw row (columns it does not know). */
export interface PersonForEdit extends StoredPerson {
  readonly partitionKey: string;
  readonly raw: Row;
}

/** Columns personToRow writes as pieces; a replace drops the stale pieces of the row it read. */
const SPREAD = new Set([...spreadColumns('teams'), ...spreadColumns('history')]);

/**
 * The app's side of the `people` table for the HTTP API: a person by id (its partition is that of
 * its id: `tenantId|bucket`), people made by hand created, edits replaced under the row's ETag, and
 * the tenant's people scanned across its bucket partitions in key order from a cursor.
 */
export class PeopleStore {
  constructor(
    private readonly tables: TableGateway,
    private readonly buckets: number,
  ) {}

  partitionOf(tenantId: string, personId: string): string {
    return bucketPartition(tenantId, personBucketOf(personId, this.buckets));
  }

  async get(tenantId: string, personId: string): Promise<PersonForEdit | undefined> {
    const partitionKey = this.partitionOf(tenantId, personId);
    const row = await this.tables.get(TABLES.people, partitionKey, personId);
    return row ? { ...personFromRow(row), partitionKey, raw: row } : undefined;
  }

  /** Creates a person's row; false when the id is taken. */
  async create(tenantId: string, person: PersonRecord): Promise<boolean> {
    return this.tables.createIfAbsent(
      TABLES.people,
      personToRow(this.partitionOf(tenantId, person.personId), person),
    );
  }

  /**
   * Replaces an edited person's row if it still has the ETag it was read with (false otherwise),
   * keeping the columns of the row that personToRow does not write (others' additions).
   */
  async replace(read: PersonForEdit, person: PersonRecord): Promise<boolean> {
    const kept: Row = { partitionKey: read.partitionKey, rowKey: read.raw.rowKey };
    for (const [name, value] of Object.entries(read.raw)) {
      if (name === 'etag' || name === 'timestamp' || name.startsWith('odata') || SPREAD.has(name)) continue;
      kept[name] = value;
    }
    const row = { ...kept, ...personToRow(read.partitionKey, person) };
    try {
      await this.tables.replaceIfMatch(TABLES.people, row, read.etag ?? '*');
      return true;
    } catch (error) {
      if (isWriteConflict(error)) return false;
      throw error;
    }
  }

  /** A person's photo link (`personPhotos` row beside its people row), if it has one. */
  async photoEtag(tenantId: string, personId: string): Promise<string | undefined> {
    const row = await this.tables.get(TABLES.personPhotos, this.partitionOf(tenantId, personId), personId);
    if (!row) return undefined;
    return typeof row.mediaEtag === 'string' ? row.mediaEtag : (row.etag ?? '');
  }

  /**
   * The tenant's people in key order after `after` (from the start without it), optionally only one
   * status (filtered by the service), each with its keys. The caller stops when it has enough.
   */
  async *scan(
    tenantId: string,
    options: { status?: PersonStatus; after?: PeopleCursor },
  ): AsyncGenerator<{ person: PersonRecord; cursor: PeopleCursor }> {
    const { from, to } = tenantPartitionRange(tenantId);
    const status = options.status ? ` and ${odata`status eq ${options.status}`}` : '';
    const after = options.after;
    const filters = after
      ? [
          odata`PartitionKey eq ${after.partitionKey} and RowKey gt ${after.rowKey}`,
          odata`PartitionKey gt ${after.partitionKey} and PartitionKey lt ${to}`,
        ]
      : [odata`PartitionKey ge ${from} and PartitionKey lt ${to}`];
    for (const filter of filters) {
      for await (const row of this.tables.scan(TABLES.people, filter + status, 500)) {
        yield {
          person: personFromRow(row).person,
          cursor: { partitionKey: row.partitionKey, rowKey: row.rowKey },
        };
      }
    }
  }
}
