import { z } from 'zod';

import { normalizeEmail } from '../../domain/matching.js';
import { TransientError } from '../../shared/errors.js';
import { TABLES } from './storage-names.js';
import { isWriteConflict, type TableGateway } from './table-gateway.js';

const idsSchema = z.array(z.string());
const ATTEMPTS = 8;

/** The index's RowKey of an address: normalized (trimmed, lower-cased), then URI-encoded (no / \ # ?). */
export function emailIndexKey(email: string): string {
  return encodeURIComponent(normalizeEmail(email));
}

/**
 * The `peopleByEmail` index, so sync can match a person made by hand to an Entra user by email:
 * PartitionKey the tenant, RowKey `emailIndexKey(email)`, column `personIds` (a JSON array of every
 * person id with that address; duplicates are allowed, and two of them make a dispute). Updated by
 * ETag'd read-modify-write. It may name an id whose person row is missing (a crash between the two
 * writes of a create): readers skip such ids.
 */
export class EmailIndexStore {
  constructor(private readonly tables: TableGateway) {}

  async personIds(tenantId: string, email: string): Promise<string[]> {
    const row = await this.tables.get(TABLES.peopleByEmail, tenantId, emailIndexKey(email));
    return row ? parseIds(row.personIds) : [];
  }

  async add(tenantId: string, email: string, personId: string): Promise<void> {
    await this.#update(tenantId, email, (ids) => (ids.includes(personId) ? ids : [...ids, personId]));
  }

  async remove(tenantId: string, email: string, personId: string): Promise<void> {
    await this.#update(tenantId, email, (ids) => ids.filter((id) => id !== personId));
  }

  async #update(tenantId: string, email: string, change: (ids: string[]) => string[]): Promise<void> {
    const rowKey = emailIndexKey(email);
    if (rowKey === '') return;
    for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
      const row = await this.tables.get(TABLES.peopleByEmail, tenantId, rowKey);
      const before = row ? parseIds(row.personIds) : [];
      const after = change(before);
      if (row && after.length === before.length && after.every((id, i) => id === before[i])) return;
      const entity = { partitionKey: tenantId, rowKey, personIds: JSON.stringify(after) };
      if (!row) {
        if (after.length === 0) return;
        if (await this.tables.createIfAbsent(TABLES.peopleByEmail, entity)) return;
        continue;
      }
      try {
        await this.tables.replaceIfMatch(TABLES.peopleByEmail, entity, row.etag!);
        return;
      } catch (error) {
        if (!isWriteConflict(error)) throw error;
      }
    }
    throw new TransientError(`peopleByEmail ${rowKey}: too many concurrent writers`);
  }
}

function parseIds(value: unknown): string[] {
  if (typeof value !== 'string' || value === '') return [];
  const parsed = idsSchema.safeParse(JSON.parse(value));
  return parsed.success ? parsed.data : [];
}
