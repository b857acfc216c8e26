import type { TransactionAction } from '@azure/data-tables';

import {
  type CustomPropertyDefinition,
  customPropertyDefinitionSchema,
} from '../../domain/custom-property.js';
import { TABLES } from './storage-names.js';
import type { Row, TableGateway } from './table-gateway.js';

/**
 * The `customProperties` table: one row per definition, PartitionKey the tenant, RowKey the name,
 * columns `type` and `description`.
 */
export class CustomPropertyStore {
  constructor(private readonly tables: TableGateway) {}

  async list(tenantId: string): Promise<CustomPropertyDefinition[]> {
    const rows = await this.tables.listPartition(TABLES.customProperties, tenantId);
    return rows.flatMap((row) => {
      const parsed = definitionFromRow(row);
      return parsed ? [parsed] : [];
    });
  }

  /** Makes the tenant's definitions exactly `definitions` (upserts them, deletes the others). */
  async replaceAll(tenantId: string, definitions: readonly CustomPropertyDefinition[]): Promise<void> {
    const keep = new Set(definitions.map((d) => d.name));
    const existing = await this.tables.listPartition(TABLES.customProperties, tenantId);
    const actions: TransactionAction[] = definitions.map((definition) => [
      'upsert',
      {
        partitionKey: tenantId,
        rowKey: definition.name,
        type: definition.type,
        description: definition.description ?? '',
      },
      'Replace',
    ]);
    for (const row of existing) {
      if (!keep.has(row.rowKey)) actions.push(['delete', { partitionKey: tenantId, rowKey: row.rowKey }]);
    }
    await this.tables.transact(TABLES.customProperties, actions);
  }
}

function definitionFromRow(row: Row): CustomPropertyDefinition | undefined {
  const description =
    typeof row.description === 'string' && row.description !== '' ? row.description : undefined;
  const parsed = customPropertyDefinitionSchema.safeParse({
    name: row.rowKey,
    type: row.type,
    ...(description !== undefined ? { description } : {}),
  });
  return parsed.success ? parsed.data : undefined;
}
