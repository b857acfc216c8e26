import { randomBytes, randomUUID } from 'node:crypto';

import { withPartitionLock } from '../adapters/storage/partition-lock.js';
import { QUEUES } from '../adapters/storage/storage-names.js';
import type { StoredSubscription } from '../adapters/storage/subscription-store.js';
import { type ConnectionSettings, connectionSettingsSchema } from '../domain/connection-settings.js';
import {
  CLIENT_STATE_LENGTH,
  expiryFrom,
  renewalDue,
  SUBSCRIBED_RESOURCES,
  type SubscribedResource,
} from '../domain/subscription-rules.js';
import { type GraphSubscriptions, SubscriptionGoneError } from '../ports/graph-subscriptions.js';
import { ensureError, SyncError } from '../shared/errors.js';
import type { SyncRequest } from './messages.js';
import type { NotificationDeps } from './notification-deps.js';
import { requestNotifiedSync } from './notification-requests.js';
import type { Logger } from './pipeline-deps.js';
import { tenantErrorLog } from './tenant-errors.js';

export interface MaintainReport {
  created: number;
  renewed: number;
  recreated: number;
  removed: number;
  /** Tenants whose subscriptions could not be maintained (recorded on their status). */
  failed: string[];
}

/**
 * The renewal pass (a timer, and the admin's "subscribe now"): each enabled connection has one
 * subscription on `/users` and one on `/groups` at the webhook's URL, renewed once half its lifetime
 * is gone or when Graph asked (`reauthorizationRequired`), created again when Graph no longer knows it
 * (404, then a round covers the gap); the subscriptions of a removed or disabled connection are
 * deleted (Graph, Key Vault, table). Failures are recorded on the connection's subscription status
 * and its error log, and the pass goes on with the next connection.
 */
export async function maintainSubscriptions(
  deps: NotificationDeps,
  log: Logger,
  options: { tenantId?: string } = {},
): Promise<MaintainReport> {
  const report: MaintainReport = { created: 0, renewed: 0, recreated: 0, removed: 0, failed: [] };
  const wanted = (tenantId: string): boolean =>
    options.tenantId === undefined || options.tenantId === tenantId;
  const rows = (await deps.subscriptions.list()).filter((row) => wanted(row.tenantId));
  const connections = new Map(
    (await deps.pipeline.connections.list()).map((c) => [c.settings.tenantId, c.settings] as const),
  );

  for (const row of rows) {
    const connection = connections.get(row.tenantId);
    if (connection?.enabled) continue;
    if (await removeSubscription(deps, row, connection, log)) report.removed += 1;
  }
  for (const tenantId of new Set(rows.map((row) => row.tenantId))) {
    if (!connections.has(tenantId)) await deps.subscriptions.removeStatus(tenantId);
  }

  const url = deps.settings.notificationUrl;
  if (url === undefined) return report;
  for (const connection of connections.values()) {
    if (!connection.enabled || !wanted(connection.tenantId)) continue;
    try {
      // One pass over a tenant at a time (the timer's, a consent's, an admin's): each reads the rows
      // the one before it left, so none creates what another has just created, or deletes it as a stray.
      const { mine, outcome } = await withPartitionLock(
        deps.pipeline.tables,
        connection.tenantId,
        'subscriptions',
        async () => {
          const mine = (await deps.subscriptions.list()).filter(
            (row) => row.tenantId === connection.tenantId,
          );
          return { mine, outcome: await maintainConnection(deps, connection, mine, url, log) };
        },
      );
      report.created += outcome.created;
      report.renewed += outcome.renewed;
      report.recreated += outcome.recreated;
      report.removed += outcome.removed;
      if (outcome.created + outcome.renewed + outcome.recreated > 0 || mine.length === 0) {
        await deps.subscriptions.recordStatus(connection.tenantId, { ok: true }, deps.pipeline.now());
      }
      if (outcome.recreated > 0) {
        // Graph had dropped a subscription: a round reads what changed while nobody was told.
        const request = await requestNotifiedSync(deps, connection.tenantId, 0);
        if (request) await deps.pipeline.queues.send(QUEUES.syncRequests, request satisfies SyncRequest);
      }
    } catch (thrown) {
      const error = ensureError(thrown);
      report.failed.push(connection.tenantId);
      log.warn('subscriptions could not be maintained', {
        tenantId: connection.tenantId,
        error: error.message,
      });
      await deps.subscriptions.recordStatus(
        connection.tenantId,
        { ok: false, error: error.message },
        deps.pipeline.now(),
      );
      await tenantErrorLog(deps.pipeline).record(connection.tenantId, {
        category: error instanceof SyncError ? error.category : 'transient',
        message: `change-notification subscriptions: ${error.message}`,
        source: 'subscriptions',
        at: deps.pipeline.now().toISOString(),
      });
    }
  }
  return report;
}

interface ConnectionOutcome {
  created: number;
  renewed: number;
  recreated: number;
  removed: number;
}

async function maintainConnection(
  deps: NotificationDeps,
  connection: ConnectionSettings,
  mine: readonly StoredSubscription[],
  url: string,
  log: Logger,
): Promise<ConnectionOutcome> {
  const outcome: ConnectionOutcome = { created: 0, renewed: 0, recreated: 0, removed: 0 };
  const now = deps.pipeline.now();
  const lifetime = deps.settings.lifetimeMinutes;
  let graph: GraphSubscriptions | undefined;
  const graphOf = async (): Promise<GraphSubscriptions> => (graph ??= await deps.graphFor(connection));

  for (const resource of SUBSCRIBED_RESOURCES) {
    const current = mine.filter((row) => row.resource === resource);
    const keep = current.find((row) => row.notificationUrl === url);
    for (const row of current) {
      // A subscription to an old URL (the app moved), or a duplicate: deleted.
      if (row !== keep && (await removeSubscription(deps, row, connection, log))) outcome.removed += 1;
    }
    if (!keep) {
      if (outcome.created === 0 && mine.length === 0) await removeStrays(deps, await graphOf(), url, log);
      await createSubscription(deps, await graphOf(), connection, resource, url, log);
      outcome.created += 1;
      continue;
    }
    if (!keep.reauthorizationRequired && !renewalDue(keep.expiresAt, now, lifetime)) continue;
    try {
      const renewed = await (await graphOf()).renew(keep.subscriptionId, expiryFrom(now, lifetime));
      await deps.subscriptions.save({
        ...keep,
        expiresAt: renewed.expiresAt,
        renewedAt: now.toISOString(),
        reauthorizationRequired: false,
      });
      outcome.renewed += 1;
      log.info('subscription renewed', {
        tenantId: connection.tenantId,
        subscriptionId: keep.subscriptionId,
        resource,
        expiresAt: renewed.expiresAt.toISOString(),
        reauthorization: keep.reauthorizationRequired,
      });
    } catch (error) {
      if (!(error instanceof SubscriptionGoneError)) throw error;
      log.warn('Graph no longer knows the subscription: creating it again', {
        tenantId: connection.tenantId,
        subscriptionId: keep.subscriptionId,
        resource,
      });
      await forget(deps, keep);
      await createSubscription(deps, await graphOf(), connection, resource, url, log);
      outcome.recreated += 1;
    }
  }
  return outcome;
}

/** 128 random characters (96 random bytes, base64url). */
function newClientState(): string {
  return randomBytes((CLIENT_STATE_LENGTH * 3) / 4).toString('base64url');
}

/**
 * Creates a subscription: its clientState goes to Key Vault first (under a name of its own), then
 * Graph validates the webhook (the handshake) and answers, then the row is saved.
 */
async function createSubscription(
  deps: NotificationDeps,
  graph: GraphSubscriptions,
  connection: ConnectionSettings,
  resource: SubscribedResource,
  url: string,
  log: Logger,
): Promise<void> {
  const now = deps.pipeline.now();
  const clientState = newClientState();
  const clientStateSecret = `graph-subscription-${randomUUID()}`;
  await deps.vault.put(clientStateSecret, clientState);
  let created;
  try {
    created = await graph.create({
      resource,
      notificationUrl: url,
      lifecycleNotificationUrl: deps.settings.lifecycleNotificationUrl ?? url,
      expiresAt: expiryFrom(now, deps.settings.lifetimeMinutes),
      clientState,
    });
  } catch (error) {
    await deps.vault.remove(clientStateSecret).catch(() => undefined);
    throw error;
  }
  await deps.subscriptions.save({
    subscriptionId: created.id,
    tenantId: connection.tenantId,
    resource,
    expiresAt: created.expiresAt,
    notificationUrl: url,
    clientStateSecret,
    cloud: connection.cloud,
    credential: connection.credential,
    createdAt: now.toISOString(),
    renewedAt: '',
    reauthorizationRequired: false,
  });
  log.info('subscription created', {
    tenantId: connection.tenantId,
    subscriptionId: created.id,
    resource,
    expiresAt: created.expiresAt.toISOString(),
  });
}

/** Graph subscriptions of this app at our URL that no row knows (a crash between create and save). */
async function removeStrays(
  deps: NotificationDeps,
  graph: GraphSubscriptions,
  url: string,
  log: Logger,
): Promise<void> {
  const knownIds = new Set((await deps.subscriptions.list()).map((row) => row.subscriptionId));
  for (const stray of await graph.list()) {
    if (stray.notificationUrl !== url || knownIds.has(stray.id)) continue;
    log.warn('deleting a subscription no row knows', { subscriptionId: stray.id });
    await graph.remove(stray.id);
  }
}

/**
 * Deletes a subscription at Graph, then its clientState and its row. Of a connection that still
 * exists (disabled), a failed Graph delete keeps the row for the next pass; of a removed connection,
 * the row goes anyway (its credential may be gone; Graph drops it at expiry and the webhook discards
 * its notifications as unknown).
 */
async function removeSubscription(
  deps: NotificationDeps,
  row: StoredSubscription,
  connection: ConnectionSettings | undefined,
  log: Logger,
): Promise<boolean> {
  try {
    const settings =
      connection ??
      connectionSettingsSchema.parse({
        tenantId: row.tenantId,
        displayName: 'removed connection',
        cloud: row.cloud,
        credential: row.credential,
      });
    await (await deps.graphFor(settings)).remove(row.subscriptionId);
  } catch (error) {
    log.warn('subscription could not be deleted at Graph', {
      tenantId: row.tenantId,
      subscriptionId: row.subscriptionId,
      error: ensureError(error).message,
    });
    if (connection) return false;
  }
  await forget(deps, row);
  log.info('subscription deleted', { tenantId: row.tenantId, subscriptionId: row.subscriptionId });
  return true;
}

async function forget(deps: NotificationDeps, row: StoredSubscription): Promise<void> {
  await deps.vault.remove(row.clientStateSecret);
  await deps.subscriptions.remove(row.subscriptionId);
}
