/**
 * Enterprise shapes at full size (npm test runs smaller instances, test/pipeline/enterprise-shapes.test.ts):
 * a group with every user as a direct member (100,000 by default), a user who is a direct member of
 * 2,000 groups, a group nested in 500 groups, then a user whose memberships change 5,000 times
 * (10 rounds: 500 groups joined, the previous 500 left: 9,500 membership changes). Each round must complete equal to the oracle;
 * prints one JSON line with the seconds of each phase, the largest mirror and person rows, and the
 * removed memberships the churned user's row still holds.
 *
 *   npm run bench:shapes -- [--users 100000] [--seed 3]
 */
import { odata, TableClient } from '@azure/data-tables';
import { Command } from 'commander';

import { positiveInt } from '../local/cli-numbers.js';
import { startLocalEnvironment } from '../local/environment/local-environment.js';
import { waitForRun } from '../local/environment/run-watcher.js';
import type { TenantOperation } from '../local/standin/control/operations.js';
import type { TenantSnapshot } from '../local/standin/index.js';
import { entityBytes } from '../src/adapters/storage/table-limits.js';
import type { RunSummary } from '../src/usecases/describe-runs.js';
import { requestSync } from '../src/usecases/request-sync.js';
import { expectedDirectory } from '../test/pipeline/directory-oracle.js';
import { differences, readDirectory, storedMemberships } from '../test/pipeline/directory-reader.js';
import { churnMemberships } from '../test/pipeline/tenant-mutations.js';

const options = new Command()
  .name('bench:shapes')
  .option('--users <n>', 'users in the tenant, all in one group', positiveInt, 100_000)
  .option('--seed <s>', 'seed of the tenant', positiveInt, 3)
  .parse()
  .opts<{ users: number; seed: number }>();

const env = await startLocalEnvironment({
  standin: { users: options.users, seed: options.seed },
  schedule: { kind: 'manual' },
});
const rounds: TenantSnapshot[] = [];
const log = (line: string): void => void process.stderr.write(`${line}\n`);

async function round(
  trigger: 'initial' | 'manual',
): Promise<{ run: RunSummary; seconds: number; equal: boolean }> {
  const deps = env.services.deps();
  const afterRunKey = (await deps.runs.list(env.tenantId, 1))[0]?.rowKey;
  rounds.push(env.standin.control.snapshot());
  const started = Date.now();
  await requestSync(deps, env.tenantId, trigger);
  const run = await waitForRun(env.services, env.tenantId, {
    ...(afterRunKey ? { afterRunKey } : {}),
    timeoutMs: 30 * 60_000,
  });
  const seconds = (Date.now() - started) / 1000;
  const diff = differences(
    await readDirectory(env.azurite.connectionString, env.tenantId),
    expectedDirectory(rounds),
  );
  if (diff.length > 0) log(`differences: ${diff.slice(0, 10).join('; ')}`);
  return { run, seconds: Math.round(seconds * 10) / 10, equal: diff.length === 0 };
}

async function largestRow(table: string): Promise<number> {
  const client = TableClient.fromConnectionString(env.azurite.connectionString, table, {
    allowInsecureConnection: true,
  });
  let largest = 0;
  const range = odata`PartitionKey ge ${`${env.tenantId}|`} and PartitionKey lt ${`${env.tenantId}}`}`;
  for await (const row of client.listEntities<Record<string, unknown>>({ queryOptions: { filter: range } })) {
    largest = Math.max(largest, entityBytes(row));
  }
  return largest;
}

try {
  const control = env.standin.control;
  const members = control.snapshot().users.filter((u) => u.userType === 'Member' && u.accountEnabled);
  const [wide, churner, nested] = [members[0]!.id, members[1]!.id, members[2]!.id];
  control.createGroup(
    { displayName: 'Everyone' },
    control.snapshot().users.map((u) => u.id),
  );
  control.bulk(
    Array.from({ length: 2000 }, (_, i): TenantOperation => ({
      op: 'createGroup',
      group: { displayName: `Wide ${i}` },
      memberIds: [wide],
    })),
  );
  const child = control.createGroup({ displayName: 'Nested child' }, [nested]).id;
  const parents = control.bulk(
    Array.from({ length: 500 }, (_, i): TenantOperation => ({
      op: 'createGroup',
      group: { displayName: `Parent ${i}` },
    })),
  );
  control.bulk(parents.map((parentId): TenantOperation => ({ op: 'nestGroup', parentId, childId: child })));
  log(`tenant: ${options.users} users, one group of all of them, a user in 2,000 groups, a group in 500`);
  const full = await round('initial');
  log(`full sync: ${full.run.state} in ${full.seconds} s, equal to the oracle: ${full.equal}`);

  const churn: { seconds: number; equal: boolean; state: string }[] = [];
  let previous: string[] = [];
  for (let i = 0; i < 10; i += 1) {
    previous = churnMemberships(control, churner, previous, 500, String(i));
    const r = await round('manual');
    churn.push({ seconds: r.seconds, equal: r.equal, state: r.run.state });
    log(`churn round ${i + 1}: ${r.run.state} in ${r.seconds} s, equal: ${r.equal}`);
  }
  const stored = await storedMemberships(env.azurite.connectionString, env.tenantId, churner);
  const result = {
    users: options.users,
    fullSync: { state: full.run.state, seconds: full.seconds, equalToOracle: full.equal },
    churn: {
      membershipChanges: 500 * 10 + 500 * 9,
      rounds: churn.length,
      secondsPerRound: churn.map((c) => c.seconds),
      allEqualToOracle: churn.every((c) => c.equal && c.state === 'completed'),
      removedMembershipsKept: stored.removed,
      presentMemberships: stored.present,
    },
    largestEntityBytes: { dirUsers: await largestRow('dirUsers'), people: await largestRow('people') },
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exitCode = result.fullSync.equalToOracle && result.churn.allEqualToOracle ? 0 : 1;
} finally {
  await env.stop();
}
