import { TABLES } from './storage-names.js';
import { isWriteConflict, type TableGateway } from './table-gateway.js';

/**
 * A tenant's settled round (a row in `syncState`): every chunk of every round up to it has been
 * applied or accounted for, so a change of such a round can only be a duplicate, and what was removed
 * in it can be forgotten. Only ever moves forward.
 */
export class SettledRounds {
  constructor(private readonly tables: TableGateway) {}

  async get(tenantId: string): Promise<number> {
    const row = await this.tables.get(TABLES.syncState, tenantId, 'settled');
    return typeof row?.round === 'number' ? row.round : 0;
  }

  /** Moves the settled round up to `round` (never down). */
  async advance(tenantId: string, round: number): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const row = await this.tables.get(TABLES.syncState, tenantId, 'settled');
      const current = typeof row?.round === 'number' ? row.round : 0;
      if (current >= round) return;
      const entity = { partitionKey: tenantId, rowKey: 'settled', round };
      try {
        if (row) await this.tables.replaceIfMatch(TABLES.syncState, entity, row.etag!);
        else if (!(await this.tables.createIfAbsent(TABLES.syncState, entity))) continue;
        return;
      } catch (error) {
        if (!isWriteConflict(error)) throw error;
      }
    }
  }
}
