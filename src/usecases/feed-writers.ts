import { heldLocks } from '../adapters/storage/partition-lock.js';
import type { TableGateway } from '../adapters/storage/table-gateway.js';

/**
 * Who writes the app's feed, and how far a reader may read while they write.
 *
 * Every writer of the feed (a bucket's chunk, the groups chunk, the managers pass, a redo that recovers
 * an outbox) takes its events' time after it took its lock, and writes them into the feed before it
 * lets the lock go. So an event not yet in the feed has a key no older than the time its writer's lock
 * was taken (`since` on the lock's row): a reader that reads only keys older than the oldest held
 * writer's lock, and older than the settle lag (which covers clocks a little apart and a writer about
 * to take its lock), never moves its cursor past an event still to come, however long a write takes.
 * A lock past its expiry (its holder died, or stopped renewing) holds readers back one settle lag
 * longer, then no more: what its holder did not write is written again by the next holder, under a new
 * time (event-outbox.ts).
 */

const USERS_LOCK_PREFIX = 'users:';

/** The lock of a bucket's users (their mirror rows, people, managers index). */
export function usersLock(bucket: number): string {
  return `${USERS_LOCK_PREFIX}${bucket}`;
}

/** The lock of the tenant's groups (their mirror rows and teams). */
export const GROUPS_LOCK = 'groups';

function writesFeed(name: string): boolean {
  return name === GROUPS_LOCK || name.startsWith(USERS_LOCK_PREFIX);
}

/**
 * The feed key (exclusive) up to which a reader may read now: `settleMs` ago, or the time the oldest
 * live writer's lock was taken if that is earlier.
 */
export async function feedHorizon(
  tables: TableGateway,
  tenantId: string,
  now: Date,
  settleMs: number,
): Promise<string> {
  let until = now.getTime() - settleMs;
  for (const lock of await heldLocks(tables, tenantId)) {
    if (writesFeed(lock.name) && lock.expiresAt + settleMs > now.getTime())
      until = Math.min(until, lock.since);
  }
  return new Date(until).toISOString();
}
