/** Helpers of the change-notification tests: the webhook, the subscriptions table, clientStates, waits. */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import { TABLES } from '../../src/adapters/storage/storage-names.js';
import { type StoredSubscription, SubscriptionStore } from '../../src/adapters/storage/subscription-store.js';
import type { PipelineUnderTest } from './pipeline-harness.js';

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
  pollMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(pollMs);
  }
}

export function subscriptionStore(pipeline: PipelineUnderTest): SubscriptionStore {
  return new SubscriptionStore(pipeline.deps().tables);
}

/** The tenant's subscription rows, once there is one on users and one on groups. */
export async function waitForSubscriptions(pipeline: PipelineUnderTest): Promise<StoredSubscription[]> {
  return waitFor('a subscription on users and on groups', async () => {
    const rows = await subscriptionStore(pipeline).list();
    return rows.length === 2 && new Set(rows.map((r) => r.resource)).size === 2 ? rows : undefined;
  });
}

/** The clientState of a subscription, read from the stand-in's Key Vault (the only place it is kept). */
export function clientStateOf(pipeline: PipelineUnderTest, row: StoredSubscription): string | undefined {
  return pipeline.env.standin.secrets.get(row.clientStateSecret)?.versions.at(-1)?.value;
}

export function webhookUrl(pipeline: PipelineUnderTest, lifecycle = false): string {
  return `${pipeline.env.host().httpBaseUrl}/api/notifications${lifecycle ? '/lifecycle' : ''}`;
}

/** A change notification as Graph sends it (notification.*.json fixtures). */
export function changeNotification(
  subscriptionId: string,
  clientState: string,
  tenantId: string,
  userId: string = randomUUID(),
): Record<string, unknown> {
  return {
    id: randomUUID(),
    subscriptionId,
    subscriptionExpirationDateTime: new Date(Date.now() + 3_600_000).toISOString(),
    clientState,
    changeType: 'updated',
    resource: `Users/${userId}`,
    tenantId,
    resourceData: {
      '@odata.type': '#Microsoft.Graph.User',
      '@odata.id': `Users/${userId}`,
      id: userId,
      organizationId: tenantId,
    },
  };
}

export async function post(
  url: string,
  body: string,
): Promise<{ status: number; text: string; contentType: string; ms: number }> {
  const started = performance.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  const text = await response.text();
  return {
    status: response.status,
    text,
    contentType: response.headers.get('content-type') ?? '',
    ms: performance.now() - started,
  };
}

/** The tenant's pending notification request, if one waits for its round. */
export async function pendingNotificationRequest(pipeline: PipelineUnderTest): Promise<boolean> {
  return (
    (await pipeline.deps().tables.get(TABLES.syncState, pipeline.env.tenantId, 'notified')) !== undefined
  );
}

/** Runs newer than `afterRunKey` (RowKeys sort newest first), oldest first. */
export async function runsAfter(
  pipeline: PipelineUnderTest,
  afterRunKey: string | undefined,
): Promise<{ trigger: string; state: string }[]> {
  const rows = await pipeline.deps().runs.list(pipeline.env.tenantId, 200);
  return rows
    .filter((row) => afterRunKey === undefined || row.rowKey < afterRunKey)
    .map((row) => ({ trigger: String(row.trigger), state: String(row.state) }))
    .reverse();
}

/** Waits until no notification request is pending and no run is running, twice in a row. */
export async function waitForQuiet(pipeline: PipelineUnderTest, timeoutMs = 60_000): Promise<void> {
  let quietSince: number | undefined;
  await waitFor(
    'no pending request and no running run',
    async () => {
      const [latest] = await pipeline.deps().runs.list(pipeline.env.tenantId, 1);
      const quiet = !(await pendingNotificationRequest(pipeline)) && latest?.state !== 'running';
      if (!quiet) quietSince = undefined;
      else quietSince ??= Date.now();
      return quietSince !== undefined && Date.now() - quietSince >= 1_500;
    },
    timeoutMs,
    250,
  );
}
