import {
  type ConnectionSettings,
  type ConnectionSettingsInput,
  connectionSettingsSchema,
} from '../../domain/connection-settings.js';
import { PermanentError } from '../../shared/errors.js';
import { gatherText, spreadText } from './directory-rows.js';
import { TABLES } from './storage-names.js';
import { isWriteConflict, type Row, type TableGateway } from './table-gateway.js';

export interface StoredConnection {
  readonly settings: ConnectionSettings;
  /** When the schedule next wants a round (ISO time), empty for a manual schedule. */
  readonly nextDueAt: string;
  readonly etag: string | undefined;
}

/** The `connections` table: one row per Entra tenant, settings validated on the way in and out. */
export class ConnectionStore {
  constructor(private readonly tables: TableGateway) {}

  async save(input: ConnectionSettingsInput, nextDueAt: Date | null): Promise<ConnectionSettings> {
    const settings = connectionSettingsSchema.parse(input);
    await this.tables.upsert(TABLES.connections, toRow(settings, nextDueAt));
    return settings;
  }

  async get(tenantId: string): Promise<StoredConnection | undefined> {
    const row = await this.tables.get(TABLES.connections, 'connection', tenantId);
    return row ? fromRow(row) : undefined;
  }

  async list(): Promise<StoredConnection[]> {
    const rows = await this.tables.listPartition(TABLES.connections, 'connection');
    return rows.map(fromRow);
  }

  /** Replaces the row (new settings) if it still has the ETag it was read with; false if someone wrote first. */
  async replace(
    connection: StoredConnection,
    settings: ConnectionSettings,
    nextDueAt: Date | null,
  ): Promise<boolean> {
    return this.advanceDue({ ...connection, settings: connectionSettingsSchema.parse(settings) }, nextDueAt);
  }

  /** Moves the next due time forward; false if someone else did first (ETag), so one request is sent. */
  async advanceDue(connection: StoredConnection, nextDueAt: Date | null): Promise<boolean> {
    try {
      await this.tables.replaceIfMatch(
        TABLES.connections,
        toRow(connection.settings, nextDueAt),
        connection.etag!,
      );
      return true;
    } catch (error) {
      if (isWriteConflict(error)) return false;
      throw error;
    }
  }
}

function toRow(settings: ConnectionSettings, nextDueAt: Date | null): Row {
  return {
    partitionKey: 'connection',
    rowKey: settings.tenantId,
    // A policy may name thousands of groups: over 32K characters, spread over settings_1, …
    ...spreadText('settings', JSON.stringify(settings)),
    nextDueAt: nextDueAt ? nextDueAt.toISOString() : '',
  };
}

function fromRow(row: Row): StoredConnection {
  const parsed = connectionSettingsSchema.safeParse(JSON.parse(gatherText(row, 'settings')));
  if (!parsed.success) {
    throw new PermanentError(
      `connection ${row.rowKey} has invalid settings: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      'invalid-data',
    );
  }
  return {
    settings: parsed.data,
    nextDueAt: typeof row.nextDueAt === 'string' ? row.nextDueAt : '',
    etag: row.etag,
  };
}
