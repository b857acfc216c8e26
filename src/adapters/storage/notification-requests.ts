import { TABLES } from './storage-names.js';
import { isWriteConflict, statusOf, type TableGateway } from './table-gateway.js';

/** The tenant's pending notification request (`syncState`, RowKey `notified`): at most one at a time. */
const ROW = 'notified';

export interface PendingNotificationRequest {
  /** The sync request's `requestedAt`: which message this mark belongs to. */
  readonly requestedAt: string;
  /** Notifications coalesced into it so far. */
  readonly notifications: number;
  readonly etag: string;
}

export type ClaimResult =
  /** No request was pending: the caller must send one with this `requestedAt`. */
  | { readonly kind: 'send'; readonly requestedAt: string }
  /** A request is pending: the notifications were added to it. */
  | { readonly kind: 'coalesced' };

/**
 * Coalesces notifications into one pending sync request per tenant, conditional on the row read
 * (ETag), so concurrent webhooks send one request between them.
 */
export class NotificationRequestMarks {
  constructor(private readonly tables: TableGateway) {}

  async find(tenantId: string): Promise<PendingNotificationRequest | undefined> {
    const row = await this.tables.get(TABLES.syncState, tenantId, ROW);
    if (!row || typeof row.requestedAt !== 'string') return undefined;
    return {
      requestedAt: row.requestedAt,
      notifications: typeof row.notifications === 'number' ? row.notifications : 0,
      etag: row.etag!,
    };
  }

  /**
   * Adds `notifications` to the tenant's pending request, or creates one (a mark older than `staleMs`
   * is replaced: its request was lost).
   */
  async claim(tenantId: string, notifications: number, now: Date, staleMs: number): Promise<ClaimResult> {
    const requestedAt = now.toISOString();
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const pending = await this.find(tenantId);
      const entity = { partitionKey: tenantId, rowKey: ROW, requestedAt, notifications };
      try {
        if (!pending) {
          if (await this.tables.createIfAbsent(TABLES.syncState, entity))
            return { kind: 'send', requestedAt };
          continue;
        }
        if (now.getTime() - Date.parse(pending.requestedAt) > staleMs) {
          await this.tables.replaceIfMatch(TABLES.syncState, entity, pending.etag);
          return { kind: 'send', requestedAt };
        }
        await this.tables
          .client(TABLES.syncState)
          .updateEntity(
            { partitionKey: tenantId, rowKey: ROW, notifications: pending.notifications + notifications },
            'Merge',
            { etag: pending.etag },
          );
        return { kind: 'coalesced' };
      } catch (error) {
        if (!isWriteConflict(error) && statusOf(error) !== 404) throw error;
      }
    }
    // Too many concurrent writers: they are all coalescing into the same pending request.
    return { kind: 'coalesced' };
  }

  /** Removes the mark if it is still the one of this request (a newer mark stays). */
  async release(tenantId: string, requestedAt: string): Promise<void> {
    const pending = await this.find(tenantId);
    if (!pending || pending.requestedAt !== requestedAt) return;
    try {
      await this.tables.client(TABLES.syncState).deleteEntity(tenantId, ROW, { etag: pending.etag });
    } catch (error) {
      if (statusOf(error) === 412) {
        // Notifications were added meanwhile: they are read by the round about to start; remove it anyway.
        await this.release(tenantId, requestedAt);
        return;
      }
      if (statusOf(error) !== 404) throw error;
    }
  }
}
