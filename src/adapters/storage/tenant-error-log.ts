import { createHash } from 'node:crypto';

import { odata } from '@azure/data-tables';

import { ERROR_CATEGORIES, type ErrorCategory } from '../../shared/errors.js';
import { TABLES } from './storage-names.js';
import type { TableGateway } from './table-gateway.js';

/** Where errors go whose tenant cannot be told (a poison message that cannot be decoded). */
export const UNKNOWN_TENANT = 'unknown';

export interface TenantError {
  readonly category: ErrorCategory;
  readonly message: string;
  /** Where it was found: `poison:sync-requests`, `request:sync-requests`, `event:run-events`, … */
  readonly source: string;
  /** When it happened (ISO time); with the source and message it makes the entry's key (idempotent). */
  readonly at: string;
  /** How many times the message was delivered before it was given up, when known. */
  readonly dequeueCount?: number;
  /** An excerpt of the message body, when the error is about a message. */
  readonly body?: string;
}

/**
 * A tenant's error log for what belongs to no run (`tenantErrors`, one partition a tenant, newest
 * first): a poison message with no run, a request for an unknown tenant, an event for an unknown run.
 */
export class TenantErrorLog {
  constructor(private readonly tables: TableGateway) {}

  async record(tenantId: string, error: TenantError): Promise<void> {
    const time = Date.parse(error.at);
    const inverted = (9_999_999_999_999 - (Number.isNaN(time) ? 0 : time)).toString().padStart(13, '0');
    const hash = createHash('sha1')
      .update(`${error.source}|${error.category}|${error.message}|${error.body ?? ''}`)
      .digest('hex')
      .slice(0, 16);
    await this.tables.upsert(TABLES.tenantErrors, {
      partitionKey: tenantId,
      rowKey: `${inverted}-${hash}`,
      category: error.category,
      message: error.message.slice(0, 4000),
      source: error.source,
      at: error.at,
      dequeueCount: error.dequeueCount ?? -1,
      body: (error.body ?? '').slice(0, 2000),
    });
  }

  /** Newest first. */
  async list(tenantId: string, top = 20): Promise<TenantError[]> {
    const rows = await this.tables.query(
      TABLES.tenantErrors,
      odata`PartitionKey eq ${tenantId}`,
      undefined,
      top,
    );
    return rows.map((row) => {
      const dequeueCount = Number(row.dequeueCount ?? -1);
      const body = typeof row.body === 'string' && row.body !== '' ? row.body : undefined;
      return {
        category: ERROR_CATEGORIES.find((c) => c === row.category) ?? 'transient',
        message: String(row.message),
        source: String(row.source),
        at: String(row.at),
        ...(dequeueCount >= 0 ? { dequeueCount } : {}),
        ...(body !== undefined ? { body } : {}),
      };
    });
  }
}
