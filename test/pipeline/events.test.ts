/** Issue 11, point 4: the app's event feed and its signed webhook, on Azurite + the stand-in + the local host. */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { personFromRow } from '../../src/adapters/storage/directory-rows.js';
import { EventStore } from '../../src/adapters/storage/event-store.js';
import { QUEUES, TABLES } from '../../src/adapters/storage/storage-names.js';
import { verifySigned } from '../../src/adapters/webhooks/signed-webhook.js';
import { tenantPartitionRange } from '../../src/domain/bucket.js';
import {
  type FeedEvent,
  observe,
  type PersonEvent,
  type PersonView,
  viewOf,
} from '../../src/domain/person-events.js';
import { personIdFor } from '../../src/domain/person-id.js';
import { fetchRound } from '../../src/usecases/fetch-round.js';
import type { SyncRequest } from '../../src/usecases/messages.js';
import type { EventView } from '../../src/usecases/read-events.js';
import { type ApiCall, apiClient } from '../api/api-client.js';
import { PipelineUnderTest } from './pipeline-harness.js';
import { drainQueue, quiet, shuffled } from './pipeline-probes.js';
import { mutateTenant } from './tenant-mutations.js';

const SECRET_NAME = 'app-webhook-secret';
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

/**
 * The app's webhook: verifies each signature, keeps the first receipt of each event, and refuses a
 * share of deliveries. Whether it refuses the n-th delivery of an event is a hash of (event id, n), so
 * the refusals do not depend on the order in which concurrent lanes arrive; and it accepts an event's
 * `maxRefusals + 1`-th delivery at the latest, so an event refused by chance is never dead-lettered
 * (with a plain 30% coin, 8 refusals in a row happen to about 1 event in 15,000).
 */
class Receiver {
  readonly received = new Map<string, EventView>();
  /** Subject → the sequence numbers in the order they were first received. */
  readonly firstOrder = new Map<string, number[]>();
  attempts = 0;
  refused = 0;
  badSignatures = 0;
  /** Subjects whose every delivery is refused (to dead-letter them). */
  readonly refuse = new Set<string>();
  /** Event id → deliveries seen. */
  readonly #deliveries = new Map<string, number>();
  server!: Server;
  url = '';

  constructor(
    public failShare: number,
    readonly maxRefusals: number,
  ) {}

  #refusesByChance(eventId: string): boolean {
    const n = this.#deliveries.get(eventId) ?? 0;
    this.#deliveries.set(eventId, n + 1);
    if (n >= this.maxRefusals) return false;
    const draw = createHash('sha256').update(`${eventId}:${n}`).digest().readUInt32BE(0) / 2 ** 32;
    return draw < this.failShare;
  }

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', () => {
        this.attempts += 1;
        const body = Buffer.concat(chunks).toString('utf8');
        let event: EventView;
        try {
          event = verifySigned(SECRET, body, headersOf(request.headers)) as EventView;
        } catch {
          this.badSignatures += 1;
          response.writeHead(401).end();
          return;
        }
        if (this.refuse.has(event.subjectId) || this.#refusesByChance(event.id)) {
          this.refused += 1;
          response.writeHead(503).end();
          return;
        }
        if (!this.received.has(event.id)) {
          this.received.set(event.id, event);
          const order = this.firstOrder.get(event.subjectId) ?? [];
          order.push(event.seq);
          this.firstOrder.set(event.subjectId, order);
        }
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/directory`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function headersOf(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (typeof value === 'string') out[name] = value;
  return out;
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('events for the app', () => {
  let pipeline: PipelineUnderTest;
  let changes: QueueClient;
  let api: ApiCall;
  let store: EventStore;
  const receiver = new Receiver(0.3, 4);
  /** The feed as read after each round. */
  let afterInitial: FeedEvent[] = [];
  let viewsAfterInitial = new Map<string, PersonView>();

  beforeAll(async () => {
    await receiver.start();
    pipeline = await PipelineUnderTest.start({
      standin: { users: 120, seed: 31 },
      startHost: false,
      settings: { SYNC_EVENTS_SETTLE_MS: '200', SYNC_EVENTS_RETRY_BASE_MS: '20' },
    });
    changes = new QueueClient(pipeline.env.azurite.connectionString, QUEUES.directoryChanges);
    pipeline.env.standin.secrets.set(SECRET_NAME, SECRET);
    const deps = pipeline.deps();
    const connection = (await deps.connections.get(pipeline.env.tenantId))!;
    await deps.connections.replace(
      connection,
      {
        ...connection.settings,
        appWebhook: { url: receiver.url, secretName: SECRET_NAME, enabled: true, maxAttempts: 8 },
      },
      null,
    );
    store = new EventStore(deps.tables, deps.buckets);
    api = apiClient(() => pipeline.env.host().httpBaseUrl, pipeline.env.functionKey);
  }, 60_000);
  afterAll(async () => {
    await pipeline?.stop();
    await receiver.stop();
  });

  /** Runs the fetcher here (the host is stopped), then delivers each change message twice, shuffled. */
  async function roundWithEveryMessageTwiceShuffled(
    trigger: SyncRequest['trigger'],
    seed: number,
  ): Promise<void> {
    const afterRunKey = await pipeline.latestRunKey();
    const request: SyncRequest = {
      type: 'sync-request',
      tenantId: pipeline.env.tenantId,
      trigger,
      full: false,
      requestedAt: new Date().toISOString(),
    };
    expect((await fetchRound(pipeline.deps(), request, quiet)).kind).toBe('completed');
    const bodies = await drainQueue(changes);
    for (const body of shuffled([...bodies, ...bodies], seed)) await changes.sendMessage(body);
    await pipeline.env.startHost();
    expect((await pipeline.waitForNextRun(afterRunKey)).state).toBe('completed');
    await new Promise((r) => setTimeout(r, 400)); // the settle lag
  }

  async function allEvents(): Promise<FeedEvent[]> {
    return store.read(pipeline.env.tenantId, { limit: 100_000 });
  }

  async function peopleViews(): Promise<Map<string, { view: PersonView; eventSeq: number }>> {
    const { from, to } = tenantPartitionRange(pipeline.env.tenantId);
    const rows = await pipeline.deps().tables.listPartitionRange(TABLES.people, from, to);
    return new Map(
      rows.map((row) => [
        row.rowKey,
        { view: viewOf(personFromRow(row).person), eventSeq: Number(row.eventSeq ?? 0) },
      ]),
    );
  }

  function bySubject(events: readonly FeedEvent[]): Map<string, FeedEvent[]> {
    const out = new Map<string, FeedEvent[]>();
    for (const e of events) out.set(e.subjectId, [...(out.get(e.subjectId) ?? []), e]);
    return out;
  }

  function personEventsOf(events: readonly FeedEvent[]): PersonEvent[] {
    return events.map((e) => ({ type: e.type, ...e.data }) as unknown as PersonEvent);
  }

  it('a full sync, every message delivered twice and shuffled: one person.created per person, its events tell its row, and team.created per team', async () => {
    await roundWithEveryMessageTwiceShuffled('initial', 7);
    afterInitial = await allEvents();
    const people = await peopleViews();
    expect(people.size).toBeGreaterThan(50);
    expect(new Set(afterInitial.map((e) => e.id)).size).toBe(afterInitial.length);
    const subjects = bySubject(afterInitial);
    for (const [personId, { view, eventSeq }] of people) {
      const events = subjects.get(personId) ?? [];
      expect(
        events.filter((e) => e.type === 'person.created'),
        personId,
      ).toHaveLength(1);
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: eventSeq }, (_, i) => i + 1));
      expect(observe(undefined, personEventsOf(events))).toEqual(view);
    }
    const teams = (
      await pipeline.deps().tables.query(TABLES.teams, `PartitionKey eq '${pipeline.env.tenantId}'`)
    ).filter((t) => t.origin === 'entra');
    expect(teams.length).toBeGreaterThan(0);
    for (const team of teams) {
      expect(
        (subjects.get(team.rowKey) ?? []).filter((e) => e.type === 'team.created'),
        team.rowKey,
      ).toHaveLength(1);
    }
    viewsAfterInitial = new Map([...people].map(([id, p]) => [id, p.view]));
  }, 60_000);

  it('50 mutations in a round delivered twice and shuffled: the new events are exactly the applied changes, in order per person', async () => {
    await pipeline.env.host().stop();
    mutateTenant(pipeline.control, 77, 50);
    await roundWithEveryMessageTwiceShuffled('manual', 13);
    const everything = await allEvents();
    const cursor = afterInitial.at(-1)!.key;
    const fresh = everything.filter((e) => e.key > cursor);
    expect(everything.filter((e) => e.key <= cursor)).toEqual(afterInitial);
    expect(new Set(everything.map((e) => e.id)).size).toBe(everything.length);
    const subjects = bySubject(fresh);
    const people = await peopleViews();
    let changed = 0;
    for (const [personId, { view, eventSeq }] of people) {
      const before = viewsAfterInitial.get(personId);
      const events = (subjects.get(personId) ?? []).filter((e) => e.subject === 'person');
      if (before && JSON.stringify(before) === JSON.stringify(view)) {
        expect(events, `${personId} did not change`).toEqual([]);
        continue;
      }
      changed += 1;
      expect(events.length, personId).toBeGreaterThan(0);
      expect(observe(before, personEventsOf(events))).toEqual(view);
      const seqs = events.map((e) => e.seq);
      expect(seqs.at(-1)).toBe(eventSeq);
      for (let i = 1; i < seqs.length; i += 1) expect(seqs[i]).toBe(seqs[i - 1]! + 1);
    }
    expect(changed).toBeGreaterThan(10);
  }, 60_000);

  it('GET /api/events pages the feed in order with its cursor', async () => {
    const everything = await allEvents();
    const read: EventView[] = [];
    let after: string | undefined;
    for (let page = 0; page < 1000; page += 1) {
      const response = await api<{ events: EventView[]; cursor: string | null; more: boolean }>(
        'GET',
        `events?limit=97${after ? `&after=${encodeURIComponent(after)}` : ''}`,
      );
      expect(response.status).toBe(200);
      read.push(...response.body.events);
      if (!response.body.more) {
        expect(response.body.cursor).toBe(everything.at(-1)!.key);
        break;
      }
      after = response.body.cursor!;
    }
    expect(read.map((e) => e.id)).toEqual(everything.map((e) => e.id));
    expect(read[0]).toMatchObject({ tenantId: pipeline.env.tenantId, cursor: everything[0]!.key });
    expect((await api('GET', 'events?limit=0')).status).toBe(400);
    expect((await api('GET', 'events?tenantId=not-a-guid')).status).toBe(400);
    const unknown = await api('GET', 'events?tenantId=00000000-0000-0000-0000-000000000001');
    expect(unknown.status).toBe(404);
    expect((await fetch(`${pipeline.env.host().httpBaseUrl}/api/events`)).status).toBe(401);
  });

  it('a webhook receiver that fails 30% of deliveries still receives every event, each signature valid, in order per person', async () => {
    const everything = await allEvents();
    await until(
      'every event at the receiver',
      () => (everything.every((e) => receiver.received.has(e.id)) ? true : undefined),
      45_000,
    ).catch(async (error: Error) => {
      const missing = everything.filter((e) => !receiver.received.has(e.id)).length;
      const dead = (await api<{ deadLetters: unknown[] }>('GET', 'events/dead-letters')).body.deadLetters;
      throw new Error(
        `${error.message}: ${missing} of ${everything.length} missing after ${receiver.attempts} deliveries; dead letters ${JSON.stringify(dead)}`,
      );
    });
    expect(receiver.refused).toBeGreaterThan(0);
    expect(receiver.badSignatures).toBe(0);
    for (const [subject, order] of receiver.firstOrder) {
      for (let i = 1; i < order.length; i += 1) expect(order[i], subject).toBeGreaterThan(order[i - 1]!);
    }
    for (const event of everything)
      expect(receiver.received.get(event.id)).toMatchObject({ type: event.type, seq: event.seq });
    expect((await api<{ deadLetters: unknown[] }>('GET', 'events/dead-letters')).body.deadLetters).toEqual(
      [],
    );
  }, 60_000);

  it('an event refused maxAttempts times is dead-lettered and listed; a replay from a cursor delivers it', async () => {
    const deps = pipeline.deps();
    const connection = (await deps.connections.get(pipeline.env.tenantId))!;
    await deps.connections.replace(
      connection,
      { ...connection.settings, appWebhook: { ...connection.settings.appWebhook!, maxAttempts: 2 } },
      null,
    );
    const before = (await allEvents()).at(-1)!.key;
    const people = await peopleViews();
    const user = pipeline.control
      .snapshot()
      .users.find((u) => people.get(personIdFor(pipeline.env.tenantId, u.id))?.view.status === 'created')!;
    const personId = personIdFor(pipeline.env.tenantId, user.id);
    receiver.failShare = 0; // only this person's deliveries fail now
    receiver.refuse.add(personId);
    pipeline.control.rename(user.id, { displayName: 'Dead Letter Person' });
    await pipeline.sync();
    await new Promise((r) => setTimeout(r, 400));
    const fresh = (await allEvents()).filter((e) => e.key > before && e.subjectId === personId);
    expect(fresh.length).toBeGreaterThan(0);
    const listed = await until('the dead letters', async () => {
      const body = (
        await api<{ deadLetters: { id: string; attempts: number; reason: string }[] }>(
          'GET',
          'events/dead-letters',
        )
      ).body;
      return fresh.every((e) => body.deadLetters.some((d) => d.id === e.id)) ? body.deadLetters : undefined;
    });
    expect(listed.find((d) => d.id === fresh[0]!.id)).toMatchObject({
      attempts: 2,
      reason: 'the receiver answered 503',
    });
    expect(receiver.received.has(fresh[0]!.id)).toBe(false);

    receiver.refuse.delete(personId);
    const replay = await api('POST', 'events/replay', { after: before });
    expect(replay.status).toBe(202);
    await until('the replayed events', () =>
      fresh.every((e) => receiver.received.has(e.id)) ? true : undefined,
    );
    expect((await api('POST', 'events/replay', { after: 'a/b' })).status).toBe(400);
  }, 60_000);
});
