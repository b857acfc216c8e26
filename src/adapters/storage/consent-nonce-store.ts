import { odata, type TransactionAction } from '@azure/data-tables';

import type { ConsentNonces } from '../../ports/consent.js';
import { TABLES } from './storage-names.js';
import type { TableGateway } from './table-gateway.js';

const PARTITION = 'nonce';

/**
 * The used nonces of consent states (table `consentStates`): a row is created when a callback first
 * presents the state; a second callback with the same nonce finds it (409) and is refused. Rows of
 * states past their expiry are useless (an expired state is refused anyway) and are removed as new
 * ones come. No key, no state, only the nonce and when it expires.
 */
export class ConsentNonceStore implements ConsentNonces {
  constructor(private readonly tables: TableGateway) {}

  async markUsed(nonce: string, expiresAt: Date, now: Date): Promise<boolean> {
    const created = await this.tables.createIfAbsent(TABLES.consentStates, {
      partitionKey: PARTITION,
      rowKey: nonce,
      expiresAt: expiresAt.toISOString(),
      usedAt: now.toISOString(),
    });
    if (created) await this.#forgetExpired(now);
    return created;
  }

  async #forgetExpired(now: Date): Promise<void> {
    const expired = await this.tables.query(
      TABLES.consentStates,
      odata`PartitionKey eq ${PARTITION} and expiresAt lt ${now.toISOString()}`,
      ['PartitionKey', 'RowKey'],
      100,
    );
    await this.tables.transact(
      TABLES.consentStates,
      expired.map((row): TransactionAction => ['delete', { partitionKey: PARTITION, rowKey: row.rowKey }]),
    );
  }
}
