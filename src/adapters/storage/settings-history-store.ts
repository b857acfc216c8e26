import { odata } from '@azure/data-tables';

import { type ConnectionSettings, connectionSettingsSchema } from '../../domain/connection-settings.js';
import { PermanentError } from '../../shared/errors.js';
import { gatherText, spreadText } from './directory-rows.js';
import { TABLES } from './storage-names.js';
import type { Row, TableGateway } from './table-gateway.js';

export interface SavedSettings {
  readonly version: number;
  readonly savedAt: string;
  readonly settings: ConnectionSettings;
}

/** Versions are RowKeys zero-padded to this width, so key order is version order. */
const VERSION_WIDTH = 10;

export function versionKey(version: number): string {
  return version.toString().padStart(VERSION_WIDTH, '0');
}

/**
 * The `settingsHistory` table: every saved version of a connection's settings, PartitionKey the
 * tenant, RowKey the zero-padded version, with `savedAt` and the document (spread over
 * `settings`, `settings_1`, … when long).
 */
export class SettingsHistoryStore {
  constructor(private readonly tables: TableGateway) {}

  /** Records a version (idempotent: a version's document never changes once saved). */
  async record(saved: SavedSettings): Promise<void> {
    await this.tables.upsert(TABLES.settingsHistory, {
      partitionKey: saved.settings.tenantId,
      rowKey: versionKey(saved.version),
      version: saved.version,
      savedAt: saved.savedAt,
      ...spreadText('settings', JSON.stringify(saved.settings)),
    });
  }

  async get(tenantId: string, version: number): Promise<SavedSettings | undefined> {
    const row = await this.tables.get(TABLES.settingsHistory, tenantId, versionKey(version));
    return row ? fromRow(row) : undefined;
  }

  /** The versions up to `upTo` (inclusive), newest first, at most `top`. */
  async newestFirst(tenantId: string, upTo: number, top: number): Promise<SavedSettings[]> {
    const from = Math.max(0, upTo - top + 1);
    const rows = await this.tables.query(
      TABLES.settingsHistory,
      odata`PartitionKey eq ${tenantId} and RowKey ge ${versionKey(from)} and RowKey le ${versionKey(upTo)}`,
    );
    return rows.map(fromRow).sort((a, b) => b.version - a.version);
  }
}

function fromRow(row: Row): SavedSettings {
  const parsed = connectionSettingsSchema.safeParse(JSON.parse(gatherText(row, 'settings')));
  if (!parsed.success) {
    throw new PermanentError(
      `settings version ${row.rowKey} of ${row.partitionKey} is unreadable`,
      'invalid-data',
    );
  }
  return {
    version: Number(row.rowKey),
    savedAt: typeof row.savedAt === 'string' ? row.savedAt : '',
    settings: parsed.data,
  };
}
