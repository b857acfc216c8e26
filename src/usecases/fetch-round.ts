import { z } from 'zod';

import { parseGroupItem, parseUserItem } from '../adapters/graph/delta-changes.js';
import { mirrorGroupFromRow, mirrorUserFromRow, spreadColumns } from '../adapters/storage/directory-rows.js';
import { newRunRef, type RunError } from '../adapters/storage/run-store.js';
import { QUEUES, TABLES } from '../adapters/storage/storage-names.js';
import type { Cursor, Lease, LeaseKeeper, Round } from '../adapters/storage/sync-state-store.js';
import { bucketCountProblem, tenantPartitionRange } from '../domain/bucket.js';
import type { DirectoryChange, EdgeChange } from '../domain/directory.js';
import { encodeVersion, SWEEP_PAGE } from '../domain/version.js';
import type { DeltaPage, DeltaResource, DirectorySource } from '../ports/directory-source.js';
import { DeltaTokenExpiredError, PermanentError, TransientError } from '../shared/errors.js';
import { ChangePublisher } from './change-publisher.js';
import { recordFetchDone } from './finalize-run.js';
import { directoryChangeSchema, type RunEvent, type RunRef, type SyncRequest } from './messages.js';
import { PagesAhead } from './pages-ahead.js';
import type { Logger, PipelineDeps } from './pipeline-deps.js';
import { publishAgain } from './publish-again.js';
import { recordPermissionCheck } from './record-permissions.js';
import { startReproject } from './reproject.js';
import { requestFollowUp } from './request-sync.js';
import { describedPrefix, heldPrefix, seenPrefix, stagedPrefix } from './run-blobs.js';
import { tenantErrorLog } from './tenant-errors.js';

export type FetchResult =
  | { readonly kind: 'completed'; readonly run: RunRef; readonly chunks: number }
  | { readonly kind: 'coalesced' }
  /** A resume request that found no round in progress (it ended meanwhile). */
  | { readonly kind: 'nothing-to-resume' }
  | { readonly kind: 'no-connection' };

/**
 * One delta round for a tenant: under the tenant's lease, read `/users/delta` then `/groups/delta`
 * page by page, publish the changes by partition, checkpoint the next page after every flush, find
 * what vanished when the round is full, and save the delta links only once everything is enqueued.
 * A crashed round resumes from its checkpoint; an expired token turns the round into a full one.
 */
export async function fetchRound(
  deps: PipelineDeps,
  request: SyncRequest,
  log: Logger,
): Promise<FetchResult> {
  const connection = await deps.connections.get(request.tenantId);
  if (!connection || !connection.settings.enabled) {
    const reason = connection ? 'its connection is disabled' : 'no connection exists for this tenant';
    log.warn('sync requested for an unknown or disabled connection', { tenantId: request.tenantId });
    await tenantErrorLog(deps).record(request.tenantId, {
      category: 'invalid-data',
      message: `sync request (${request.trigger}${request.full ? ', full' : ''}) ignored: ${reason}`,
      source: `request:${QUEUES.syncRequests}`,
      at: deps.now().toISOString(),
    });
    return { kind: 'no-connection' };
  }
  if (request.reproject) {
    const { cursor } = await deps.syncState.readCursor(request.tenantId);
    const problem = bucketCountProblem(cursor.buckets, deps.buckets);
    if (problem) throw new PermanentError(problem, 'configuration');
    const run = await startReproject(deps, request, log);
    return { kind: 'completed', run, chunks: deps.buckets + 1 };
  }
  const lease = await acquireOrMarkDirty(deps, request);
  if (!lease) {
    const message = request.resume
      ? 'the round to resume is running again: resume request dropped'
      : 'a round is already running: request coalesced into the next one';
    log.info(message, { tenantId: request.tenantId, full: request.full });
    return { kind: 'coalesced' };
  }
  const keeper = deps.syncState.keepAlive(request.tenantId, lease);
  try {
    if (request.resume && (await deps.syncState.readCursor(request.tenantId)).cursor.round === null) {
      log.info('no round to resume: it ended before this request was served', { tenantId: request.tenantId });
      return { kind: 'nothing-to-resume' };
    }
    if (request.full) {
      // A full request that resumes a stalled incremental round: the round after it is full.
      const { cursor } = await deps.syncState.readCursor(request.tenantId);
      if (cursor.round && !cursor.round.full) await deps.syncState.markDirty(request.tenantId, true);
    }
    const source = await deps.directorySourceFor(connection.settings);
    await recordPermissionCheck(deps, request.tenantId, source, log);
    const result = await new RoundRunner(deps, source, lease, keeper, log).run(request);
    return result;
  } finally {
    await keeper.stop();
    const released = await deps.syncState.releaseLease(request.tenantId, lease);
    await requestFollowUp(deps, request, released);
  }
}

/**
 * Takes the tenant's lease, or leaves the request in the running round's dirty mark (a resume request
 * is dropped instead: the round it asks for is running). Race-free: the
 * mark is written only while the lease is still held (conditional on the row read); a lease found
 * free meanwhile (its round just released it) is acquired again, so the request is never dropped.
 */
async function acquireOrMarkDirty(deps: PipelineDeps, request: SyncRequest): Promise<Lease | undefined> {
  for (let attempt = 0; attempt < 10; attempt += 1) {
    const lease = await deps.syncState.acquireLease(request.tenantId);
    if (lease) return lease;
    // A resume request finding the lease held: the round was resumed already (its holder is alive).
    if (request.resume) return undefined;
    if (await deps.syncState.markDirty(request.tenantId, request.full, request.requestIds)) return undefined;
  }
  throw new TransientError(`the round lease of tenant ${request.tenantId} is changing hands too fast`);
}

/** Chunk messages queued (taken ones included) up to which a first round still flushes by time. */
export const FLUSH_BY_TIME_BACKLOG = 16;
/** How often a first round due to flush by time asks the queue for its backlog. */
const FLUSH_BACKLOG_CHECK_MS = 500;

class RoundRunner {
  #publisher!: ChangePublisher;
  readonly #errors: RunError[] = [];
  /** Keys seen by a full phase since the last flush, and before it (kept in blobs for a resume). */
  readonly #seen = new Set<string>();
  readonly #seenBefore = new Set<string>();
  /** The first round's memberships by user id, until the users phase reads each user. */
  readonly #heldEdges = new Map<string, EdgeChange[]>();
  readonly #heldSinceFlush: EdgeChange[] = [];
  /** Users read since the last flush whose held memberships go out with them (see describedPrefix). */
  readonly #describedSinceFlush: string[] = [];
  /** When a first round due to flush by time last asked the queue for its backlog. */
  #backlogCheckedAt = 0;

  constructor(
    private readonly deps: PipelineDeps,
    private readonly source: DirectorySource,
    private readonly lease: Lease,
    /** Fencing: every side effect is preceded by a check that the lease is still ours. */
    private readonly keeper: LeaseKeeper,
    private readonly log: Logger,
  ) {}

  async run(request: SyncRequest): Promise<FetchResult> {
    const { tenantId } = request;
    this.#publisher = new ChangePublisher(
      tenantId,
      this.deps.queues,
      this.deps.chunkStore,
      this.deps.buckets,
      this.deps.runs,
      () => this.keeper.assertHeld(),
      this.lease.epoch,
    );
    const { cursor } = await this.deps.syncState.readCursor(tenantId);
    const resuming = cursor.round !== null;
    const round = cursor.round ?? (await this.#startRound(cursor, request));
    // Refused with a run that says why (fail-round.ts fails it): nothing read, published or written.
    const problem = bucketCountProblem(cursor.buckets, this.deps.buckets);
    if (problem) throw new PermanentError(problem, 'configuration');
    // A full round's fetch runs for minutes: its messages leave as they are sent, not at its end.
    if (round.full) await this.deps.queues.sendKeptNow();
    const ref: RunRef = { tenantId, runId: round.runId, runKey: round.runKey };
    if (resuming) {
      this.log.info('resuming a round from its checkpoint', {
        tenantId,
        runId: round.runId,
        phase: round.phase,
        page: round.page,
      });
      // What the round read before, for what it has still to do: nothing once it has published.
      if (round.phase !== 'published') {
        await this.#loadSeen(round);
        if (overlaps(round)) await this.#loadHeldEdges(round);
      }
      await this.deps.runs.addRequestIds(ref, request.requestIds ?? []);
      await this.#takeOverPublished(ref, round);
    }
    // Groups first: a tenant's first round then knows every user's memberships by the time it reads
    // the user, and applies each users page as it goes (see `overlaps`).
    // An incremental round flushes at its end, not at each phase's: a user's memberships (read in
    // the groups phase) and its own change (the users phase) go out in one message of its bucket. Its
    // phase ends are not checkpointed either, since what they read is not published yet: a resumed
    // round reads again from its last checkpoint, which always follows a flush.
    if (round.phase === 'groups') await this.#readPhase(cursor, round, 'groups', 'users');
    if (round.phase === 'users') await this.#readPhase(cursor, round, 'users', 'sweep');
    if (round.phase === 'sweep') {
      // A full round finds what vanished, except the tenant's first: nothing existed before it.
      if ((round.fullUsers || round.fullGroups) && !round.fresh) await this.#sweep(round);
      // Memberships of users the users phase never described (nobody else will carry them).
      for (const edges of this.#heldEdges.values()) for (const edge of edges) this.#publisher.add(edge);
      this.#heldEdges.clear();
      await this.#flushAndCheckpoint(cursor, round, { phase: 'published', nextLink: null }, true);
    }

    // Everything is enqueued: now the delta links may move forward.
    cursor.usersDeltaLink = round.pendingUsersDeltaLink ?? cursor.usersDeltaLink;
    cursor.groupsDeltaLink = round.pendingGroupsDeltaLink ?? cursor.groupsDeltaLink;
    cursor.lastRound = round.seq;
    cursor.lastRunKey = round.runKey;
    cursor.round = null;
    this.keeper.assertHeld();
    await this.deps.runs.recordErrors(ref, this.#errors, this.deps.now().toISOString());
    const writes = this.deps.tables.meter;
    const done = {
      type: 'fetch-done',
      ...ref,
      chunksTotal: round.chunkIndex,
      graphRequests: round.graphRequests,
      errors: round.errors,
      writes: {
        directoryWrites: writes.directoryWrites,
        bookkeepingWrites: writes.bookkeepingWrites + 1,
        transactions: writes.transactions + 1,
      },
    } satisfies RunEvent;
    // The run learns its chunk count from the fetcher itself (a lost or poisoned message cannot
    // leave it waiting); the event only wakes the fan-in up.
    this.keeper.assertHeld();
    await recordFetchDone(this.deps, done);
    await this.deps.syncState.saveCursor(tenantId, cursor, this.lease);
    await this.deps.queues.send(QUEUES.runEvents, done);
    // The run's own blobs (staged, claim checks, held memberships) go when it completes.
    await this.deps.chunkStore.deletePrefix(seenPrefix(round));
    this.log.info('round fetched', {
      tenantId,
      runId: round.runId,
      chunks: round.chunkIndex,
      full: round.full,
    });
    return { kind: 'completed', run: ref, chunks: round.chunkIndex };
  }

  /**
   * A resumed round takes over what its predecessor published. Messages are recorded, then
   * checkpointed past, then sent: those recorded past the checkpoint were never sent (their fetcher
   * died before its checkpoint), and this round reads their pages again. They are withdrawn (reported
   * applied, with nothing), and this round's chunks, cut at other flushes, take indexes after them (a
   * chunk index is applied once). A predecessor killed while sending the flush of its checkpoint left
   * messages that may never have been sent, whose pages nobody reads again: those no reconciler has
   * begun are sent again.
   */
  async #takeOverPublished(ref: RunRef, round: Round): Promise<void> {
    const checkpoint = round.chunkIndex;
    const published = await this.deps.runs.listPublished(ref);
    const unsent = published.filter((c) => c.chunkIndex >= checkpoint).map((c) => c.chunkIndex);
    if (unsent.length > 0) {
      this.keeper.assertHeld();
      await this.deps.runs.withdrawChunks(ref, unsent);
      round.chunkIndex = Math.max(...unsent) + 1;
      this.log.info('withdrew the chunks its predecessor recorded and never sent', {
        tenantId: ref.tenantId,
        runId: ref.runId,
        chunks: unsent.length,
      });
      return;
    }
    if (round.sendingFrom === null) return;
    const from = round.sendingFrom;
    const begun = await this.deps.runs.heartbeats(ref);
    const unbegun = published.filter(
      (c) => c.chunkIndex >= from && c.chunkIndex < checkpoint && !begun.has(c.chunkIndex),
    );
    await publishAgain(this.deps, ref, unbegun, () => this.keeper.assertHeld());
  }

  async #startRound(cursor: Cursor, request: SyncRequest): Promise<Round> {
    const ref = newRunRef(request.tenantId, this.deps.now());
    const firstEver = cursor.lastRound === 0 && cursor.lastRunKey === null;
    const required = await this.deps.syncState.fullRoundRequirement(request.tenantId);
    const full =
      request.full ||
      firstEver ||
      !cursor.usersDeltaLink ||
      !cursor.groupsDeltaLink ||
      required !== undefined;
    const trigger = firstEver ? 'initial' : request.trigger;
    cursor.buckets ??= this.deps.buckets;
    await this.deps.runs.create(
      ref,
      trigger,
      full,
      this.deps.now().toISOString(),
      cursor.lastRound + 1,
      request.requestIds ?? [],
    );
    const round: Round = {
      ...ref,
      seq: cursor.lastRound + 1,
      trigger,
      full,
      fullUsers: full,
      fullGroups: full,
      fresh: firstEver,
      phase: 'groups',
      nextLink: null,
      page: 0,
      chunkIndex: 0,
      sendingFrom: null,
      flushNo: 0,
      errors: 0,
      graphRequests: 0,
      pendingUsersDeltaLink: null,
      pendingGroupsDeltaLink: null,
    };
    await this.#checkpoint(cursor, round);
    if (required) {
      this.log.warn('a full reconciliation was required', {
        tenantId: ref.tenantId,
        reason: required.reason,
      });
      await this.deps.syncState.clearFullRoundRequirement(request.tenantId, required.etag);
    }
    this.log.info('round started', { tenantId: ref.tenantId, runId: ref.runId, trigger, full });
    return round;
  }

  /** Reads one delta resource to its delta link; the round then stands at phase `then`. */
  async #readPhase(
    cursor: Cursor,
    round: Round,
    resource: DeltaResource,
    then: Round['phase'],
  ): Promise<void> {
    const deltaLink = resource === 'users' ? cursor.usersDeltaLink : cursor.groupsDeltaLink;
    const isFull = (): boolean => (resource === 'users' ? round.fullUsers : round.fullGroups);
    let url = round.nextLink ?? (isFull() || !deltaLink ? this.source.initialDeltaUrl(resource) : deltaLink);
    let pagesSinceFlush = 0;
    let lastFlushAt = Date.now();
    // A first round publishes each user with its memberships as it reads it (`overlaps`): it also
    // flushes by time, so that applying keeps pace with a slow Graph instead of waiting for a page
    // count, and what is left after the last page is little.
    const flushByTime = overlaps(round) && resource === 'users';
    // Pages are asked for ahead of the work on them (pages-ahead.ts): Graph's latency overlaps the
    // parsing, staging, publishing and checkpoints instead of adding to them.
    const readFrom = (link: string): PagesAhead => new PagesAhead((next) => this.#request(round, next), link);
    let pages = readFrom(url);
    try {
      for (;;) {
        let page;
        try {
          page = await pages.take();
        } catch (error) {
          if (!(error instanceof DeltaTokenExpiredError)) throw error;
          this.log.warn('delta token expired: the round becomes a full resync', {
            tenantId: round.tenantId,
            runId: round.runId,
            reason: error.reason,
          });
          if (resource === 'users') round.fullUsers = true;
          else round.fullGroups = true;
          if (!round.full) {
            round.full = true;
            await this.deps.runs.update(round, (row) => ({ ...row, full: true }));
            await this.deps.queues.sendKeptNow();
          }
          url = this.source.initialDeltaUrl(resource);
          pages.close();
          pages = readFrom(url);
          continue;
        }
        round.page += 1;
        page.items.forEach((item, index) => this.#accept(round, resource, item, index));
        pagesSinceFlush += 1;
        if (page.deltaLink) {
          if (resource === 'users') round.pendingUsersDeltaLink = page.deltaLink;
          else round.pendingGroupsDeltaLink = page.deltaLink;
          // A full round's phase ends with a flush, checkpointed at the next phase as a flush in the
          // middle of a phase is.
          if (round.full) await this.#flushAndCheckpoint(cursor, round, { phase: then, nextLink: null });
          else {
            round.phase = then;
            round.nextLink = null;
          }
          return;
        }
        url = page.nextLink!;
        if (
          pagesSinceFlush >= this.deps.flushEveryPages ||
          (flushByTime &&
            Date.now() - lastFlushAt >= this.deps.flushEveryMs &&
            (await this.#reconcilersKeepPace()))
        ) {
          // A resumed round reads again from here: pages read ahead of the flush are not published.
          await this.#flushAndCheckpoint(cursor, round, { phase: round.phase, nextLink: url });
          pagesSinceFlush = 0;
          lastFlushAt = Date.now();
        }
      }
    } finally {
      pages.close();
    }
  }

  /**
   * A flush, then its checkpoint at `resumeAt` (where a resumed round reads again; `published` for the
   * round's `last` flush, after which nothing is read again). The checkpoint is saved once the flush's
   * messages are recorded and before they are sent, so what is recorded past a round's checkpoint was
   * never sent. A fetcher killed while sending them leaves a successor that reads none of these pages
   * again (its chunks would carry the same users as these, which a reconciler killed with it may have
   * decided without writing) and sends what no reconciler has begun.
   */
  async #flushAndCheckpoint(
    cursor: Cursor,
    round: Round,
    resumeAt: Pick<Round, 'phase' | 'nextLink'>,
    last = false,
  ): Promise<void> {
    let checkpointed = false;
    const groupsPhaseEnds = round.phase === 'groups' && resumeAt.phase !== 'groups';
    await this.#flush(
      round,
      async (nextChunkIndex) => {
        Object.assign(round, resumeAt, { sendingFrom: round.chunkIndex, chunkIndex: nextChunkIndex });
        await this.#checkpoint(cursor, round);
        checkpointed = true;
      },
      last,
      groupsPhaseEnds,
    );
    // A last flush that published nothing needs no checkpoint: the round ends next.
    if (!checkpointed && !last) {
      Object.assign(round, resumeAt, { sendingFrom: null });
      await this.#checkpoint(cursor, round);
    }
    // The flush is checkpointed: a successor sends what of it was not sent, and needs none of these
    // users' memberships again. Killed before this list is written, it publishes them again (a replay).
    if (this.#describedSinceFlush.length > 0) {
      this.keeper.assertHeld();
      await this.deps.chunkStore.put(
        `${describedPrefix(round)}${String(round.flushNo).padStart(6, '0')}-e${this.lease.epoch}.json`,
        this.#describedSinceFlush.splice(0),
      );
    }
  }

  /**
   * Whether a first round's flush by time is worth it: the reconcilers have no backlog to work through
   * (the queue holds no more than they take at once). Behind a backlog, a flush every
   * SYNC_FLUSH_EVERY_MS only cuts smaller chunks, which cost the reconcilers more per user (with Graph's
   * latency at 20k users, 769 chunks where 449 did, and a sync 15 % longer): the page count flushes then.
   * Asked at most every FLUSH_BACKLOG_CHECK_MS.
   */
  async #reconcilersKeepPace(): Promise<boolean> {
    if (Date.now() - this.#backlogCheckedAt < FLUSH_BACKLOG_CHECK_MS) return false;
    this.#backlogCheckedAt = Date.now();
    return (await this.deps.queues.approximateCount(QUEUES.directoryChanges)) <= FLUSH_BY_TIME_BACKLOG;
  }

  /**
   * One delta page, asked for now. A page read ahead whose caller fails first (a lost lease, a failed
   * flush) is never awaited: its failure is dropped, and a resumed round asks for it again.
   */
  #request(round: Round, url: string): Promise<DeltaPage> {
    round.graphRequests += 1;
    const page = this.source.getDeltaPage(url);
    page.catch(() => undefined);
    return page;
  }

  #accept(round: Round, resource: DeltaResource, item: unknown, index: number): void {
    const version = encodeVersion({ round: round.seq, page: round.page, index });
    // In a full users phase the page is the truth: a user without `manager@delta` has no manager.
    const parsed =
      resource === 'users'
        ? parseUserItem(item, version, { full: round.fullUsers })
        : parseGroupItem(item, version);
    if (!parsed.ok) {
      round.errors += 1;
      this.#errors.push({
        category: 'invalid-data',
        objectId: parsed.objectId,
        message: parsed.reason,
        source: 'fetch',
      });
      return;
    }
    for (const change of parsed.changes) {
      // What a full round saw, for its sweep (a first round has nothing to sweep).
      if (!round.fresh && (resource === 'users' ? round.fullUsers : round.fullGroups)) {
        this.#seen.add(seenKey(change));
      }
      if (overlaps(round) && change.kind === 'edge' && change.memberType === 'user') {
        this.#hold(change);
        continue;
      }
      this.#publisher.add(change);
      if (overlaps(round) && change.kind === 'user') {
        const edges = this.#heldEdges.get(change.id);
        if (!edges) continue;
        for (const edge of edges) this.#publisher.add(edge);
        this.#heldEdges.delete(change.id);
        this.#describedSinceFlush.push(change.id);
      }
    }
  }

  /** A membership of the first round, held until its user is read (and kept in a blob for a resume). */
  #hold(edge: EdgeChange): void {
    const list = this.#heldEdges.get(edge.memberId);
    if (list) list.push(edge);
    else this.#heldEdges.set(edge.memberId, [edge]);
    this.#heldSinceFlush.push(edge);
  }

  /**
   * A resumed first round's held memberships: those kept in blobs, but of users whose memberships went
   * out with them before the checkpoint (listed under describedPrefix).
   */
  async #loadHeldEdges(round: Round): Promise<void> {
    const names = await this.deps.chunkStore.list(heldPrefix(round));
    const isListOfDescribed = (name: string): boolean => name.startsWith(describedPrefix(round));
    const described = new Set<string>();
    for (const name of names.filter(isListOfDescribed)) {
      const parsed = z.array(z.string()).safeParse(await this.deps.chunkStore.get(name));
      if (parsed.success) for (const userId of parsed.data) described.add(userId);
    }
    for (const name of names.filter((name) => !isListOfDescribed(name))) {
      const parsed = z.array(directoryChangeSchema).safeParse(await this.deps.chunkStore.get(name));
      if (!parsed.success) continue;
      for (const change of parsed.data) {
        if (change.kind === 'edge' && !described.has(change.memberId)) this.#hold(change);
      }
    }
    this.#heldSinceFlush.length = 0;
  }

  /**
   * Publishes buffered changes (an incremental round) or stages them (a full round); in a full round,
   * also keeps the ids seen so far for the sweep.
   */
  async #flush(
    round: Round,
    recorded: (nextChunkIndex: number) => Promise<void>,
    last: boolean,
    groupsPhaseEnds: boolean,
  ): Promise<void> {
    this.keeper.assertHeld();
    if (this.#seen.size > 0) {
      await this.deps.chunkStore.put(`${seenPrefix(round)}${String(round.flushNo).padStart(6, '0')}.json`, [
        ...this.#seen,
      ]);
      round.flushNo += 1;
      for (const key of this.#seen) this.#seenBefore.add(key);
      this.#seen.clear();
    }
    if (this.#heldSinceFlush.length > 0) {
      await this.deps.chunkStore.put(
        `${heldPrefix(round)}${String(round.flushNo).padStart(6, '0')}-e${this.lease.epoch}.json`,
        this.#heldSinceFlush.splice(0),
      );
    }
    if (this.#publisher.pending === 0 && !last) return;
    // What these pages found wrong, and the flush's number, before anything is published: a
    // checkpoint saved once its messages are recorded (`recorded`) is past these pages.
    const ref = { tenantId: round.tenantId, runId: round.runId, runKey: round.runKey };
    await this.deps.runs.recordErrors(ref, this.#errors.splice(0), this.deps.now().toISOString());
    const flushNo = round.flushNo;
    round.flushNo += 1;
    if (round.full && !overlaps(round)) {
      await this.#publisher.stage(stagedPrefix(round), flushNo);
    }
    if (!round.full || overlaps(round) || last) {
      // Users' partitions go out now; the groups partition is staged and goes out once at the end
      // of the round (`last`), so its deletions cost one pass over the mirror whatever the number of
      // flushes. A first round has nothing to delete, and its users phase reads no group: its groups
      // go out as its groups phase ends, applied while the users are read rather than after them.
      round.chunkIndex = await this.#publisher.publish(
        round,
        round.chunkIndex,
        round.fresh,
        {
          stagePrefix: stagedPrefix(round),
          flushNo,
          publishStaged: overlaps(round) ? groupsPhaseEnds : last,
        },
        recorded,
      );
    }
  }

  async #loadSeen(round: Round): Promise<void> {
    if (!round.fullUsers && !round.fullGroups) return;
    for (const name of await this.deps.chunkStore.list(seenPrefix(round))) {
      const ids = (await this.deps.chunkStore.get(name)) as string[];
      for (const id of ids) this.#seenBefore.add(id);
    }
  }

  async #checkpoint(cursor: Cursor, round: Round): Promise<void> {
    this.keeper.assertHeld();
    cursor.round = round;
    await this.deps.syncState.saveCursor(round.tenantId, cursor, this.lease);
  }

  /** A full round read everything: what the mirror holds and the round did not see has vanished. */
  async #sweep(round: Round): Promise<void> {
    const seen = this.#seenBefore;
    const { tenantId } = round;
    const { from, to } = tenantPartitionRange(tenantId);
    let index = 0;
    const version = (): string => encodeVersion({ round: round.seq, page: SWEEP_PAGE, index: index++ });
    const vanished: DirectoryChange[] = [];
    const userColumns = ['RowKey', 'version', 'deleted', ...spreadColumns('memberships')];
    const users =
      round.fullUsers || round.fullGroups
        ? await this.deps.tables.listPartitionRange(TABLES.dirUsers, from, to, userColumns)
        : [];
    for (const row of users) {
      const user = mirrorUserFromRow(row);
      if (round.fullUsers && user.deleted === null && user.version !== '' && !seen.has(`u:${user.id}`)) {
        vanished.push({ kind: 'user', id: user.id, version: version(), removed: 'soft' });
      }
      if (!round.fullGroups) continue;
      for (const [groupId, membership] of Object.entries(user.memberships)) {
        if (membership.present && !seen.has(`e:${groupId}|${user.id}`)) {
          vanished.push({
            kind: 'edge',
            groupId,
            memberId: user.id,
            memberType: 'user',
            present: false,
            version: version(),
          });
        }
      }
    }
    const groups = round.fullGroups
      ? await this.deps.tables.listPartition(TABLES.dirGroups, tenantId, {
          select: ['RowKey', 'deleted', ...spreadColumns('groupMembers')],
        })
      : [];
    for (const row of groups) {
      const group = mirrorGroupFromRow(row);
      if (group.deleted === null && !seen.has(`g:${group.id}`)) {
        vanished.push({ kind: 'group', id: group.id, version: version(), removed: 'soft' });
      }
      for (const [memberId, membership] of Object.entries(group.groupMembers)) {
        if (membership.present && !seen.has(`e:${group.id}|${memberId}`)) {
          vanished.push({
            kind: 'edge',
            groupId: group.id,
            memberId,
            memberType: 'group',
            present: false,
            version: version(),
          });
        }
      }
    }
    for (const change of vanished) this.#publisher.add(change);
    if (vanished.length > 0) {
      this.log.info('full round: objects that vanished from the tenant', {
        tenantId,
        runId: round.runId,
        count: vanished.length,
      });
    }
  }
}

function seenKey(change: DirectoryChange): string {
  switch (change.kind) {
    case 'user':
      return `u:${change.id}`;
    case 'group':
      return `g:${change.id}`;
    case 'edge':
      return `e:${change.groupId}|${change.memberId}`;
  }
}

/**
 * A tenant's first round applies while it fetches: nothing exists yet, so each users page can be
 * published at once, each user with all its memberships (read first, in the groups phase), and
 * written without reading: one pass over every partition, as staging gives, without waiting for the
 * last page. Later full rounds must read what exists, so they stage and publish one message per
 * partition at the end.
 */
function overlaps(round: Round): boolean {
  return round.fresh && round.full;
}
