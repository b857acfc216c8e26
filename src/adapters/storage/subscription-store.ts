import { z } from 'zod';

import { cloudSchema, credentialSchema } from '../../domain/connection-settings.js';
import {
  DISCARD_REASONS,
  type DiscardReason,
  SUBSCRIBED_RESOURCES,
} from '../../domain/subscription-rules.js';
import { TABLES } from './storage-names.js';
import { isWriteConflict, type Row, statusOf, type TableGateway } from './table-gateway.js';

/**
 * The `subscriptions` table. PartitionKey `subscription`: one row a Graph subscription (RowKey its id)
 * with its tenant, resource, expiry and the name of the Key Vault secret holding its clientState (the
 * value is never in a table); the connection's cloud and credential *names* are copied so the
 * subscription can still be deleted once its connection is gone. PartitionKey `status`: the
 * subscription status of each connection (RowKey tenantId). PartitionKey `discarded`: notifications
 * discarded by the webhook, counted by reason.
 */
const SUBSCRIPTION = 'subscription';
const STATUS = 'status';
const DISCARDED = 'discarded';

const subscriptionRowSchema = z.object({
  rowKey: z.string().min(1),
  tenantId: z.string().min(1),
  resource: z.enum(SUBSCRIBED_RESOURCES),
  expiresAt: z.string(),
  notificationUrl: z.string(),
  clientStateSecret: z.string().min(1),
  cloud: z.string().transform((text) => cloudSchema.parse(JSON.parse(text))),
  credential: z.string().transform((text) => credentialSchema.parse(JSON.parse(text))),
  createdAt: z.string(),
  renewedAt: z.string().default(''),
  /** Set by a `reauthorizationRequired` lifecycle notification; the renewal timer answers it. */
  reauthorizationRequired: z.boolean().default(false),
  etag: z.string().optional(),
});

export interface StoredSubscription {
  readonly subscriptionId: string;
  readonly tenantId: string;
  readonly resource: (typeof SUBSCRIBED_RESOURCES)[number];
  readonly expiresAt: Date;
  readonly notificationUrl: string;
  readonly clientStateSecret: string;
  readonly cloud: z.infer<typeof cloudSchema>;
  readonly credential: z.infer<typeof credentialSchema>;
  readonly createdAt: string;
  readonly renewedAt: string;
  readonly reauthorizationRequired: boolean;
}

export interface SubscriptionStatus {
  readonly tenantId: string;
  readonly state: 'active' | 'failing' | 'none';
  /** The last failure (no secret: Graph's error code and message). */
  readonly lastError: string;
  readonly failures: number;
  readonly at: string;
}

export class SubscriptionStore {
  constructor(private readonly tables: TableGateway) {}

  async list(): Promise<StoredSubscription[]> {
    return (await this.tables.listPartition(TABLES.subscriptions, SUBSCRIPTION)).flatMap((row) => {
      const parsed = subscriptionRowSchema.safeParse(row);
      return parsed.success ? [fromRow(parsed.data)] : [];
    });
  }

  async get(subscriptionId: string): Promise<StoredSubscription | undefined> {
    if (subscriptionId.length === 0 || subscriptionId.length > 128 || /[/\\#?\p{Cc}]/u.test(subscriptionId)) {
      return undefined;
    }
    const row = await this.tables.get(TABLES.subscriptions, SUBSCRIPTION, subscriptionId);
    const parsed = row ? subscriptionRowSchema.safeParse(row) : undefined;
    return parsed?.success ? fromRow(parsed.data) : undefined;
  }

  async save(subscription: StoredSubscription): Promise<void> {
    await this.tables.upsert(TABLES.subscriptions, {
      partitionKey: SUBSCRIPTION,
      rowKey: subscription.subscriptionId,
      tenantId: subscription.tenantId,
      resource: subscription.resource,
      expiresAt: subscription.expiresAt.toISOString(),
      notificationUrl: subscription.notificationUrl,
      clientStateSecret: subscription.clientStateSecret,
      cloud: JSON.stringify(subscription.cloud),
      credential: JSON.stringify(subscription.credential),
      createdAt: subscription.createdAt,
      renewedAt: subscription.renewedAt,
      reauthorizationRequired: subscription.reauthorizationRequired,
    });
  }

  /** Marks a subscription for the renewal timer; false when it is not ours. */
  async requireReauthorization(subscriptionId: string): Promise<boolean> {
    try {
      await this.tables
        .client(TABLES.subscriptions)
        .updateEntity(
          { partitionKey: SUBSCRIPTION, rowKey: subscriptionId, reauthorizationRequired: true },
          'Merge',
        );
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw error;
    }
  }

  async remove(subscriptionId: string): Promise<void> {
    try {
      await this.tables.client(TABLES.subscriptions).deleteEntity(SUBSCRIPTION, subscriptionId);
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }

  async status(tenantId: string): Promise<SubscriptionStatus> {
    const row = await this.tables.get(TABLES.subscriptions, STATUS, tenantId);
    return {
      tenantId,
      state: row?.state === 'active' || row?.state === 'failing' ? row.state : 'none',
      lastError: typeof row?.lastError === 'string' ? row.lastError : '',
      failures: typeof row?.failures === 'number' ? row.failures : 0,
      at: typeof row?.at === 'string' ? row.at : '',
    };
  }

  async recordStatus(
    tenantId: string,
    outcome: { ok: true } | { ok: false; error: string },
    at: Date,
  ): Promise<void> {
    const previous = await this.status(tenantId);
    await this.tables.upsert(TABLES.subscriptions, {
      partitionKey: STATUS,
      rowKey: tenantId,
      state: outcome.ok ? 'active' : 'failing',
      lastError: outcome.ok ? previous.lastError : outcome.error.slice(0, 2000),
      failures: outcome.ok ? 0 : previous.failures + 1,
      at: at.toISOString(),
    });
  }

  async removeStatus(tenantId: string): Promise<void> {
    try {
      await this.tables.client(TABLES.subscriptions).deleteEntity(STATUS, tenantId);
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }

  /** Adds to the discarded-notification counters (optimistic concurrency, a few attempts). */
  async countDiscarded(counts: Partial<Record<DiscardReason, number>>): Promise<void> {
    for (const [reason, n] of Object.entries(counts)) {
      if (!n) continue;
      for (let attempt = 0; attempt < 8; attempt += 1) {
        const row = await this.tables.get(TABLES.subscriptions, DISCARDED, reason);
        const entity: Row = {
          partitionKey: DISCARDED,
          rowKey: reason,
          count: (typeof row?.count === 'number' ? row.count : 0) + n,
        };
        try {
          if (row) await this.tables.replaceIfMatch(TABLES.subscriptions, entity, row.etag!);
          else if (!(await this.tables.createIfAbsent(TABLES.subscriptions, entity))) continue;
          break;
        } catch (error) {
          if (!isWriteConflict(error)) throw error;
        }
      }
    }
  }

  async discarded(): Promise<Record<DiscardReason, number>> {
    const rows = await this.tables.listPartition(TABLES.subscriptions, DISCARDED);
    const counts = Object.fromEntries(DISCARD_REASONS.map((reason) => [reason, 0])) as Record<
      DiscardReason,
      number
    >;
    for (const row of rows) {
      if ((DISCARD_REASONS as readonly string[]).includes(row.rowKey) && typeof row.count === 'number') {
        counts[row.rowKey as DiscardReason] = row.count;
      }
    }
    return counts;
  }
}

function fromRow(row: z.infer<typeof subscriptionRowSchema>): StoredSubscription {
  return {
    subscriptionId: row.rowKey,
    tenantId: row.tenantId,
    resource: row.resource,
    expiresAt: new Date(row.expiresAt),
    notificationUrl: row.notificationUrl,
    clientStateSecret: row.clientStateSecret,
    cloud: row.cloud,
    credential: row.credential,
    createdAt: row.createdAt,
    renewedAt: row.renewedAt,
    reauthorizationRequired: row.reauthorizationRequired,
  };
}
