import type { TransactionAction } from '@azure/data-tables';

import { PermanentError } from '../../shared/errors.js';

/**
 * What Azure Table Storage refuses, checked before every write in every environment (Azurite accepts
 * some of it, Azure does not). Sources: "Scalability and performance targets for Table storage" and
 * "Understanding the Table service data model" (Microsoft Learn); the size of an entity is estimated as
 * those pages do: 4 bytes + 2 bytes a key character + for each property 8 bytes + 2 bytes a name
 * character + the value (a string 4 + 2 a UTF-16 unit, binary 4 + its bytes, a number 8, a boolean 1).
 */
export const TABLE_LIMITS = {
  entityBytes: 1024 * 1024,
  /** Custom properties (255 with PartitionKey, RowKey and Timestamp). */
  properties: 252,
  /** A string property: 64 KiB, i.e. 32K UTF-16 code units. */
  stringUnits: 32 * 1024,
  binaryBytes: 64 * 1024,
  keyUnits: 1024,
  batchOperations: 100,
  /** A batch's payload must stay under 4 MiB; the estimate leaves room for the multipart framing. */
  batchBytes: 4 * 1024 * 1024 - 64 * 1024,
} as const;

/** Characters Table Storage refuses in PartitionKey and RowKey: / \\ # ? and control characters. */
function hasForbiddenKeyCharacter(key: string): boolean {
  for (let i = 0; i < key.length; i += 1) {
    const code = key.charCodeAt(i);
    if (code <= 0x1f || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return /[/\\#?]/.test(key);
}

function keyOf(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** A write that Table Storage would refuse: names the table, the entity's keys and the property. */
export class TableLimitError extends PermanentError {
  constructor(
    readonly table: string,
    readonly partitionKey: string,
    readonly rowKey: string,
    readonly property: string | null,
    readonly limit: string,
  ) {
    super(
      `table ${table}, entity (${partitionKey}, ${rowKey})${property ? `, property ${property}` : ''}: ${limit}`,
      'storage-limit',
    );
  }
}

const SYSTEM_PROPERTIES = new Set(['partitionKey', 'rowKey', 'etag', 'timestamp', 'odata.metadata']);

function valueBytes(value: unknown): number {
  if (typeof value === 'string') return 4 + value.length * 2;
  if (typeof value === 'boolean') return 1;
  if (typeof value === 'number' || typeof value === 'bigint') return 8;
  if (value instanceof Date) return 8;
  if (value instanceof Uint8Array) return 4 + value.byteLength;
  if (typeof value === 'object' && value !== null && 'value' in value) return valueBytes(value.value);
  return 0;
}

/** The estimated stored size of an entity, in bytes. */
export function entityBytes(entity: Record<string, unknown>): number {
  let total = 4 + (keyOf(entity.partitionKey).length + keyOf(entity.rowKey).length) * 2;
  for (const [name, value] of Object.entries(entity)) {
    if (SYSTEM_PROPERTIES.has(name) || value === undefined || value === null) continue;
    total += 8 + name.length * 2 + valueBytes(value);
  }
  return total;
}

/** Throws a TableLimitError when Table Storage would refuse this entity; returns its size. */
export function checkEntity(table: string, entity: Record<string, unknown>): number {
  const pk = keyOf(entity.partitionKey);
  const rk = keyOf(entity.rowKey);
  const fail = (property: string | null, limit: string): never => {
    throw new TableLimitError(table, pk.slice(0, 200), rk.slice(0, 200), property, limit);
  };
  for (const [name, key] of [
    ['PartitionKey', pk],
    ['RowKey', rk],
  ] as const) {
    if (key.length > TABLE_LIMITS.keyUnits) fail(name, `longer than ${TABLE_LIMITS.keyUnits} characters`);
    if (hasForbiddenKeyCharacter(key)) fail(name, 'contains / \\ # ? or a control character');
  }
  let properties = 0;
  for (const [name, value] of Object.entries(entity)) {
    if (SYSTEM_PROPERTIES.has(name) || value === undefined || value === null) continue;
    properties += 1;
    if (name.length > 255) fail(name, 'property name longer than 255 characters');
    if (typeof value === 'string' && value.length > TABLE_LIMITS.stringUnits) {
      fail(name, `string of ${value.length} UTF-16 units exceeds 64 KiB (${TABLE_LIMITS.stringUnits} units)`);
    }
    if (value instanceof Uint8Array && value.byteLength > TABLE_LIMITS.binaryBytes) {
      fail(name, `binary of ${value.byteLength} bytes exceeds 64 KiB`);
    }
  }
  if (properties > TABLE_LIMITS.properties) {
    fail(null, `${properties} properties exceed ${TABLE_LIMITS.properties}`);
  }
  const size = entityBytes(entity);
  if (size > TABLE_LIMITS.entityBytes) fail(null, `entity of ${size} bytes exceeds 1 MiB`);
  return size;
}

/**
 * Splits a partition's actions into batch transactions Table Storage accepts: at most 100 operations
 * and under 4 MiB each, every entity at most once per batch. Every entity is checked first.
 */
export function planBatches(table: string, actions: readonly TransactionAction[]): TransactionAction[][] {
  const batches: TransactionAction[][] = [];
  let current: TransactionAction[] = [];
  let bytes = 0;
  let keys = new Set<string>();
  let partition: string | undefined;
  for (const action of actions) {
    const entity = action[1] as Record<string, unknown>;
    const size = checkEntity(table, entity);
    const pk = keyOf(entity.partitionKey);
    if (partition !== undefined && pk !== partition) {
      throw new TableLimitError(table, pk, keyOf(entity.rowKey), null, 'a batch spans two partitions');
    }
    partition = pk;
    const key = keyOf(entity.rowKey);
    if (
      current.length >= TABLE_LIMITS.batchOperations ||
      bytes + size > TABLE_LIMITS.batchBytes ||
      keys.has(key)
    ) {
      batches.push(current);
      current = [];
      bytes = 0;
      keys = new Set();
    }
    current.push(action);
    bytes += size;
    keys.add(key);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
