/**
 * The app's side of a chaos run: a reader that follows the event feed's cursor while the hosts are
 * killed (as the app does with GET /api/events), and what it missed or read twice against the feed as
 * it stands once the run is over.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { EventStore } from '../src/adapters/storage/event-store.js';
import type { AppServices } from '../src/app-services.js';
import { readEvents } from '../src/usecases/read-events.js';

export interface FeedCheck {
  /** Events the follower read. */
  readonly read: number;
  /** Events of the feed the follower never read (it moved its cursor past them before they were written). */
  readonly skipped: number;
  /** Events (by id) the feed holds under more than one key. */
  readonly repeated: number;
  /** People rows without their one person.created in the feed. */
  readonly peopleWithoutCreated: number;
}

const PAGE = 1000;
/** How often it asks when it has read everything readable (an app polling twice a second). */
const POLL_MS = 500;

export interface FeedFollower {
  /** Reads on until it has caught up with the feed as it is after `quietAt` (ms since the epoch). */
  finish(quietAt: number): Promise<Set<string>>;
}

/** Starts following the tenant's feed from its start, as the app would. */
export function followFeed(services: AppServices, tenantId: string): FeedFollower {
  const settleMs = services.settings.SYNC_EVENTS_SETTLE_MS;
  const seen = new Set<string>();
  let cursor: string | undefined;
  let stopAfter = Number.POSITIVE_INFINITY;
  const readPage = async (): Promise<boolean> => {
    const page = await readEvents(services.deps(), tenantId, {
      ...(cursor ? { after: cursor } : {}),
      limit: PAGE,
      settleMs,
    });
    if (!page.ok) throw new Error(page.error);
    for (const event of page.value.events) seen.add(event.id);
    cursor = page.value.cursor ?? undefined;
    return page.value.more;
  };
  const loop = (async () => {
    // Until the feed's horizon is past the moment the run went quiet, and nothing more is readable.
    for (;;) {
      const horizonPast = Date.now() - settleMs > stopAfter;
      const more = await readPage();
      if (more) continue;
      if (horizonPast) return;
      await sleep(POLL_MS);
    }
  })();
  // A run that never ends stops the environment under the loop: its error is the caller's, at finish.
  loop.catch(() => undefined);
  return {
    async finish(quietAt: number) {
      stopAfter = quietAt;
      await loop;
      return seen;
    },
  };
}

/** The feed as it stands, against what the follower read and the people rows the run left. */
export async function checkFeed(
  services: AppServices,
  tenantId: string,
  seen: ReadonlySet<string>,
  personIds: Iterable<string>,
): Promise<FeedCheck> {
  const deps = services.deps();
  const store = new EventStore(deps.tables, deps.buckets);
  const keysById = new Map<string, number>();
  const created = new Map<string, number>();
  let after: string | undefined;
  for (;;) {
    const events = await store.read(tenantId, { ...(after ? { after } : {}), limit: PAGE });
    for (const event of events) {
      keysById.set(event.id, (keysById.get(event.id) ?? 0) + 1);
      if (event.type === 'person.created')
        created.set(event.subjectId, (created.get(event.subjectId) ?? 0) + 1);
    }
    if (events.length < PAGE) break;
    after = events.at(-1)!.key;
  }
  return {
    read: seen.size,
    skipped: [...keysById.keys()].filter((id) => !seen.has(id)).length,
    repeated: [...keysById.values()].filter((n) => n > 1).length,
    peopleWithoutCreated: [...personIds].filter((id) => created.get(id) !== 1).length,
  };
}
