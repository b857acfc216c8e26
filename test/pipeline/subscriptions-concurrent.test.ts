/**
 * The renewal pass runs on a timer, and also at once when an admin connects a tenant (consent) or asks
 * to subscribe now: two passes over one tenant at the same moment both found no subscription, and both
 * created one on /users and one on /groups (CI: 4 subscriptions after a consent), or one deleted the
 * other's new subscription as a stray before its row was saved.
 */
import { describe, expect, it } from 'vitest';

import { TABLES } from '../../src/adapters/storage/storage-names.js';
import { NotificationServices } from '../../src/notification-services.js';
import { maintainSubscriptions } from '../../src/usecases/maintain-subscriptions.js';
import { subscriptionStore, waitForSubscriptions } from './notification-probes.js';
import { pipelineForDescribe } from './pipeline-harness.js';
import { quiet } from './pipeline-probes.js';

describe('renewal passes over one tenant at the same time', () => {
  const pipelineOf = pipelineForDescribe({
    standin: { users: 50, seed: 4 },
    schedule: { kind: 'manual' },
    notifications: true,
  });

  it('leave one subscription on /users and one on /groups, each with its row', async () => {
    const pipeline = pipelineOf();
    const { standin } = pipeline.env;
    const tenantId = pipeline.env.tenantId;
    // Start from none: what a tenant just connected has.
    for (const row of await waitForSubscriptions(pipeline)) {
      standin.subscriptions.forget(row.subscriptionId);
      await pipeline
        .deps()
        .tables.client(TABLES.subscriptions)
        .deleteEntity('subscription', row.subscriptionId);
    }
    const deps = new NotificationServices(pipeline.env.services, {
      AZURE_TENANT_ID: standin.tenantId,
      AZURE_CLIENT_ID: standin.clientId,
      AZURE_CLIENT_SECRET: standin.clientSecret,
      AZURE_AUTHORITY_HOST: standin.authorityHost,
    }).deps();

    await Promise.all([1, 2, 3].map(() => maintainSubscriptions(deps, quiet, { tenantId })));

    const graph = standin.subscriptions.list();
    expect(graph.map((s) => s.resource).sort()).toEqual(['groups', 'users']);
    const rows = await subscriptionStore(pipeline).list();
    expect(rows.map((r) => r.subscriptionId).sort()).toEqual(graph.map((s) => s.id).sort());
  }, 120_000);
});
