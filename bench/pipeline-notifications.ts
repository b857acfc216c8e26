/**
 * The notification bench (`npm run bench -- --notifications N`): the whole pipeline with change
 * notifications (Azurite, the stand-in delivering to the local host's webhook, the local host), a full
 * sync first, then N tenant changes spread over time (`perSecond`, default 5), each a rename of a
 * different user; for each, the seconds from the change in the stand-in to its people row showing it
 * (the people partitions polled every 50 ms). No scheduled round runs: only notifications move rows.
 * Prints `notifications.p50Seconds`, `p95Seconds`, `maxSeconds` and `deltaRounds` (rounds started by
 * notifications while the changes arrived).
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { odata } from '@azure/data-tables';

import { startLocalEnvironment } from '../local/environment/local-environment.js';
import { waitForRun } from '../local/environment/run-watcher.js';
import { TABLES } from '../src/adapters/storage/storage-names.js';
import { SubscriptionStore } from '../src/adapters/storage/subscription-store.js';
import { requestSync } from '../src/usecases/request-sync.js';

export interface NotificationBenchOptions {
  readonly notifications: number;
  readonly users: number;
  readonly seed: number;
  readonly perSecond: number;
  readonly say: (line: string) => void;
}

export interface NotificationBenchResults {
  readonly notifications: {
    readonly count: number;
    readonly perSecond: number;
    readonly users: number;
    readonly p50Seconds: number;
    readonly p95Seconds: number;
    readonly maxSeconds: number;
    readonly deltaRounds: number;
    readonly debounceMs: number;
    readonly lost: number;
  };
}

export async function benchNotifications(
  options: NotificationBenchOptions,
): Promise<NotificationBenchResults> {
  const { say } = options;
  say(
    `Starting Azurite, the stand-in (${options.users} users, notifications on) and the local Functions host…`,
  );
  const env = await startLocalEnvironment({
    standin: { users: options.users, seed: options.seed },
    schedule: { kind: 'manual' },
    notifications: true,
  });
  try {
    const deps = env.services.deps();
    const subscriptions = new SubscriptionStore(deps.tables);
    for (let waited = 0; (await subscriptions.list()).length < 2; waited += 200) {
      if (waited > 60_000) throw new Error('the subscriptions were not created within 60 s');
      await sleep(200);
    }
    say('Subscriptions on /users and /groups created; initial sync…');
    await requestSync(deps, env.tenantId, 'initial');
    const initial = await waitForRun(env.services, env.tenantId, { timeoutMs: 10 * 60_000 });
    if (initial.state === 'failed') throw new Error('the initial sync failed');
    if (initial.errors.length > 0) {
      say(`note: the initial sync had ${initial.errors.length} errors (${initial.errors[0]?.message ?? ''})`);
    }
    const afterInitial = (await deps.runs.list(env.tenantId, 1))[0]?.rowKey;

    const users = env.standin.control
      .snapshot()
      .users.filter((u) => !u.softDeleted && u.userType === 'Member' && u.accountEnabled === true);
    const pending = new Map<string, { name: string; at: number }>();
    const latencies: number[] = [];
    let changing = true;
    const range = odata`PartitionKey ge ${`${env.tenantId}|`} and PartitionKey lt ${`${env.tenantId}}`}`;
    const people = deps.tables.client(TABLES.people);
    const poller = (async () => {
      while (changing || pending.size > 0) {
        const seen = new Map<string, string>();
        for await (const row of people.listEntities<Record<string, unknown>>({
          queryOptions: { filter: range, select: ['sourceObjectId', 'displayName'] },
        })) {
          seen.set(String(row.sourceObjectId), String(row.displayName));
        }
        const now = performance.now();
        for (const [id, change] of pending) {
          if (seen.get(id) === change.name) {
            latencies.push((now - change.at) / 1000);
            pending.delete(id);
          }
        }
        await sleep(50);
      }
    })();

    say(`${options.notifications} changes, ${options.perSecond} a second…`);
    const started = performance.now();
    const gapMs = 1000 / options.perSecond;
    for (let i = 0; i < options.notifications; i += 1) {
      const wait = started + i * gapMs - performance.now();
      if (wait > 0) await sleep(wait);
      const user = users[i % users.length]!;
      const name = `Notified ${i}`;
      pending.set(user.id, { name, at: performance.now() });
      env.standin.control.rename(user.id, { displayName: name });
    }
    const deadline = performance.now() + 60_000;
    while (pending.size > 0 && performance.now() < deadline) await sleep(100);
    changing = false;
    const lost = pending.size;
    pending.clear();
    await poller;

    const rounds = (await deps.runs.list(env.tenantId, 500)).filter(
      (row) => (afterInitial === undefined || row.rowKey < afterInitial) && row.trigger === 'notification',
    ).length;
    const sorted = [...latencies].sort((a, b) => a - b);
    const quantile = (q: number): number =>
      sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
    return {
      notifications: {
        count: options.notifications,
        perSecond: options.perSecond,
        users: options.users,
        p50Seconds: round2(quantile(0.5)),
        p95Seconds: round2(quantile(0.95)),
        maxSeconds: round2(sorted.at(-1) ?? 0),
        deltaRounds: rounds,
        debounceMs: env.services.settings.SYNC_NOTIFICATION_DEBOUNCE_MS,
        lost,
      },
    };
  } finally {
    await env.stop();
  }
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
