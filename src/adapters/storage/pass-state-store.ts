import { TABLES } from './storage-names.js';
import { isWriteConflict, statusOf, type TableGateway } from './table-gateway.js';

/** When a tenant's scheduled photo pass is next due (`syncState`, RowKey `photos-due`). */
export interface PhotoDue {
  /** ISO time; '' = not computed yet (or no schedule). */
  readonly nextDueAt: string;
  readonly etag: string | undefined;
}

/** The tenant's custom-security-attribute pass (`syncState`, RowKey `security-attributes`). */
export interface SecurityPassState {
  /** ISO time of the last request ('' = never). */
  readonly requestedAt: string;
  /** ISO time the last complete pass started reading ('' = never): how fresh the attributes are. */
  readonly completedAt: string;
  readonly etag: string | undefined;
}

const PHOTOS_DUE = 'photos-due';
const SECURITY_PASS = 'security-attributes';

/**
 * The bookkeeping of the passes over what delta does not track (photos, custom security attributes),
 * kept in `syncState` beside the tenant's cursor rather than on its connection row.
 */
export class PassStateStore {
  constructor(private readonly tables: TableGateway) {}

  async photoDue(tenantId: string): Promise<PhotoDue> {
    const row = await this.tables.get(TABLES.syncState, tenantId, PHOTOS_DUE);
    return { nextDueAt: typeof row?.nextDueAt === 'string' ? row.nextDueAt : '', etag: row?.etag };
  }

  /** Moves the due time (conditional on the row read); false when another scheduler did first. */
  async advancePhotoDue(tenantId: string, previous: PhotoDue, next: Date | null): Promise<boolean> {
    const entity = { partitionKey: tenantId, rowKey: PHOTOS_DUE, nextDueAt: next ? next.toISOString() : '' };
    try {
      if (previous.etag === undefined) return await this.tables.createIfAbsent(TABLES.syncState, entity);
      await this.tables.replaceIfMatch(TABLES.syncState, entity, previous.etag);
      return true;
    } catch (error) {
      if (isWriteConflict(error) || statusOf(error) === 404) return false;
      throw error;
    }
  }

  async securityPass(tenantId: string): Promise<SecurityPassState> {
    const row = await this.tables.get(TABLES.syncState, tenantId, SECURITY_PASS);
    return {
      requestedAt: typeof row?.requestedAt === 'string' ? row.requestedAt : '',
      completedAt: typeof row?.completedAt === 'string' ? row.completedAt : '',
      etag: row?.etag,
    };
  }

  async markSecurityPassRequested(tenantId: string, at: Date): Promise<void> {
    await this.tables.upsert(
      TABLES.syncState,
      { partitionKey: tenantId, rowKey: SECURITY_PASS, requestedAt: at.toISOString() },
      'Merge',
    );
  }

  async markSecurityPassCompleted(tenantId: string, startedAt: Date): Promise<void> {
    await this.tables.upsert(
      TABLES.syncState,
      { partitionKey: tenantId, rowKey: SECURITY_PASS, completedAt: startedAt.toISOString() },
      'Merge',
    );
  }
}
