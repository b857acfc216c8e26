import { moveCounter } from './counter-row.js';
import { TABLES } from './storage-names.js';
import type { TableGateway } from './table-gateway.js';

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
    await moveCounter(this.tables, tenantId, 'settled', 'round', (current) =>
      current >= round ? undefined : round,
    );
  }
}
