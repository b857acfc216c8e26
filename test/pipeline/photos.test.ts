/**
 * Photos and custom security attributes: the passes over what delta does not track, on Azurite, the
 * stand-in and the local host.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { readSecurityAttributeColumns } from '../../src/adapters/storage/security-attribute-rows.js';
import { QUEUES, TABLES } from '../../src/adapters/storage/storage-names.js';
import { AppServices } from '../../src/app-services.js';
import { bucketPartition, userBucketOf } from '../../src/domain/bucket.js';
import type { ConnectionSettingsInput } from '../../src/domain/connection-settings.js';
import { SECURITY_ATTRIBUTES_PERMISSION } from '../../src/domain/mirrored-properties.js';
import { runPhotoPass } from '../../src/usecases/photo-pass.js';
import { readSecurityAttributes } from '../../src/usecases/read-security-attributes.js';
import { requestDuePasses } from '../../src/usecases/request-passes.js';
import { PipelineUnderTest } from './pipeline-harness.js';
import { drainQueue, quiet } from './pipeline-probes.js';

const DOWNLOAD = 'GET /users/{id}/photo/$value';
const BATCH = 'POST /$batch';

let pipeline: PipelineUnderTest;

beforeAll(async () => {
  pipeline = await PipelineUnderTest.start({ standin: { users: 90, seed: 23 } });
  pipeline.control.resetCounters();
  await pipeline.sync('initial');
}, 300_000);
afterAll(async () => {
  await pipeline?.stop();
});

function counters() {
  return pipeline.control.counters().requestsByRoute;
}

async function photoApi(personId: string, query = ''): Promise<Response> {
  return fetch(`${pipeline.env.host().httpBaseUrl}/api/people/${personId}/photo${query}`, {
    headers: { 'x-functions-key': pipeline.env.functionKey },
  });
}

/** The covered people whose user has a photo now, by person id → media ETag. */
async function expectedPhotos(): Promise<Map<string, string>> {
  const users = new Map(pipeline.control.snapshot().users.map((u) => [u.id, u]));
  const expected = new Map<string, string>();
  for (const candidate of await pipeline.deps().photoStore.candidates(pipeline.env.tenantId)) {
    const etag = users.get(candidate.objectId)?.photoEtag;
    if (etag) expected.set(candidate.personId, etag);
  }
  return expected;
}

async function linkedEtags(): Promise<Map<string, string>> {
  const linked = await pipeline.deps().photoStore.linked(pipeline.env.tenantId);
  return new Map([...linked.values()].map((photo) => [photo.personId, photo.mediaEtag]));
}

describe('the photo pass', () => {
  let people = 0;

  it('the first pass, which the first full run asks for (through photo-requests and the host), downloads every photo once and links it from the person', async () => {
    const candidates = await pipeline.deps().photoStore.candidates(pipeline.env.tenantId);
    people = candidates.length;
    const expected = await expectedPhotos();
    expect(expected.size).toBeGreaterThan(3);
    expect(expected.size).toBeLessThan(people);
    for (let i = 0; i < 200 && (await linkedEtags()).size < expected.size; i += 1) await sleep(250);
    expect(await linkedEtags()).toEqual(expected);
    expect(counters()[DOWNLOAD]).toBe(expected.size);
    expect(counters()[BATCH]).toBe(Math.ceil(people / 20));
    const blobs = await pipeline.deps().photoStore.blobNames(pipeline.env.tenantId);
    expect(blobs).toEqual([...expected.keys()].map((id) => `${pipeline.env.tenantId}/${id}`).sort());
  }, 120_000);

  it('serves a linked photo at GET /api/people/{personId}/photo with its content type and ETag, and 404 without one', async () => {
    const [personId, etag] = [...(await expectedPhotos()).entries()][0]!;
    const response = await photoApi(personId);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/jpeg');
    expect(response.headers.get('etag')).toBe(etag);
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(bytes.subarray(0, 2).toString('hex')).toBe('ffd8');
    const again = await fetch(`${pipeline.env.host().httpBaseUrl}/api/people/${personId}/photo`, {
      headers: { 'x-functions-key': pipeline.env.functionKey, 'if-none-match': etag },
    });
    expect(again.status).toBe(304);
    const without = (await pipeline.deps().photoStore.candidates(pipeline.env.tenantId)).find(
      (c) => !(pipeline.control.user(c.objectId)?.photoEtag ?? null),
    )!;
    expect((await photoApi(without.personId)).status).toBe(404);
    expect((await photoApi('not-a-uuid')).status).toBe(400);
  });

  it('second pass downloads nothing: ceil(n/20) $batch requests and 0 downloads', async () => {
    pipeline.control.resetCounters();
    const result = await runPhotoPass(pipeline.deps(), pipeline.env.tenantId, quiet);
    expect(result).toMatchObject({ kind: 'completed', downloaded: 0, removed: 0, people });
    expect(counters()[DOWNLOAD]).toBeUndefined();
    expect(counters()[BATCH]).toBe(Math.ceil(people / 20));
  });

  it('a changed photo is the one download, and is served afterwards', async () => {
    const [personId] = [...(await expectedPhotos()).keys()];
    const candidate = (await pipeline.deps().photoStore.candidates(pipeline.env.tenantId)).find(
      (c) => c.personId === personId,
    )!;
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001', 'hex');
    pipeline.control.setPhoto(candidate.objectId, png);
    pipeline.control.resetCounters();
    const result = await runPhotoPass(pipeline.deps(), pipeline.env.tenantId, quiet);
    expect(result).toMatchObject({ kind: 'completed', downloaded: 1, removed: 0 });
    expect(counters()[DOWNLOAD]).toBe(1);
    expect(await linkedEtags()).toEqual(await expectedPhotos());
    const response = await photoApi(personId!);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await response.arrayBuffer()).equals(png)).toBe(true);
  });

  it('a removed photo loses its personPhotos row and its blob', async () => {
    const [personId] = [...(await expectedPhotos()).keys()].slice(-1);
    const candidate = (await pipeline.deps().photoStore.candidates(pipeline.env.tenantId)).find(
      (c) => c.personId === personId,
    )!;
    pipeline.control.setPhoto(candidate.objectId, null);
    pipeline.control.resetCounters();
    const result = await runPhotoPass(pipeline.deps(), pipeline.env.tenantId, quiet);
    expect(result).toMatchObject({ kind: 'completed', downloaded: 0, removed: 1 });
    expect((await linkedEtags()).has(personId!)).toBe(false);
    expect(await pipeline.deps().photoStore.blobNames(pipeline.env.tenantId)).not.toContain(
      `${pipeline.env.tenantId}/${personId}`,
    );
    expect((await photoApi(personId!)).status).toBe(404);
  });

  it("is requested when the policy's photo schedule is due, the due time kept in syncState", async () => {
    const deps = pipeline.deps();
    const stored = (await deps.connections.get(pipeline.env.tenantId))!;
    const settings: ConnectionSettingsInput = {
      ...stored.settings,
      policy: {
        ...stored.settings.policy,
        photos: { enabled: true, schedule: { kind: 'interval', minutes: 60 } },
      },
    };
    await deps.connections.save(settings, stored.nextDueAt ? new Date(stored.nextDueAt) : null);
    const now = new Date();
    const at = (minutes: number) => ({ ...deps, now: () => new Date(now.getTime() + minutes * 60_000) });
    expect((await requestDuePasses(at(0))).photos).toEqual([]);
    expect((await deps.passState.photoDue(pipeline.env.tenantId)).nextDueAt).toBe(
      new Date(now.getTime() + 60 * 60_000).toISOString(),
    );
    expect((await requestDuePasses(at(30))).photos).toEqual([]);
    expect((await requestDuePasses(at(61))).photos).toEqual([pipeline.env.tenantId]);
    expect((await requestDuePasses(at(62))).photos).toEqual([]);
    const row = await deps.tables.get(TABLES.connections, 'connection', pipeline.env.tenantId);
    expect(row?.nextDueAt).toBe(stored.nextDueAt);
    await deps.connections.save(stored.settings, stored.nextDueAt ? new Date(stored.nextDueAt) : null);
  });

  it('answers 400 without tenantId when several connections exist, and serves with it', async () => {
    const deps = pipeline.deps();
    const stored = (await deps.connections.get(pipeline.env.tenantId))!;
    const other = '0f0f0f0f-1111-4222-8333-444455556666';
    await deps.connections.save({ ...stored.settings, tenantId: other, displayName: 'Other' }, null);
    try {
      const [personId] = [...(await expectedPhotos()).keys()];
      expect((await photoApi(personId!)).status).toBe(400);
      expect((await photoApi(personId!, `?tenantId=${pipeline.env.tenantId}`)).status).toBe(200);
    } finally {
      await deps.tables.client(TABLES.connections).deleteEntity('connection', other);
    }
  });
});

describe('the custom security attribute pass', () => {
  const mapping = {
    source: 'customSecurityAttributes.Engineering.Project',
    target: { customProperty: 'project' },
  } as const;

  /** Services of their own: a fresh credential, so a token carries the permissions granted now. */
  function freshDeps() {
    const standin = pipeline.env.standin;
    return new AppServices(pipeline.env.services.settings, {
      AZURE_TENANT_ID: standin.tenantId,
      AZURE_CLIENT_ID: standin.clientId,
      AZURE_CLIENT_SECRET: standin.clientSecret,
      AZURE_AUTHORITY_HOST: standin.authorityHost,
    }).deps();
  }

  async function storedAttributes(): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const deps = pipeline.deps();
    const buckets = new Set(
      pipeline.control.snapshot().users.map((u) => userBucketOf(pipeline.env.tenantId, u.id, deps.buckets)),
    );
    for (const bucket of buckets) {
      const rows = await readSecurityAttributeColumns(
        deps.tables,
        bucketPartition(pipeline.env.tenantId, bucket),
      );
      for (const [id, row] of rows) if (row.json !== '') found.set(id, row.json);
    }
    return found;
  }

  beforeAll(async () => {
    const deps = pipeline.deps();
    const stored = (await deps.connections.get(pipeline.env.tenantId))!;
    await deps.connections.save(
      { ...stored.settings, policy: { ...stored.settings.policy, mappings: [mapping] } },
      stored.nextDueAt ? new Date(stored.nextDueAt) : null,
    );
    await drainQueue(deps.queues.client(QUEUES.securityAttributeRequests));
  });

  it('reads nothing from Graph without CustomSecAttributeAssignment.Read.All', async () => {
    pipeline.control.setGrantedPermissions(['User.Read.All', 'GroupMember.Read.All']);
    pipeline.control.resetCounters();
    const result = await readSecurityAttributes(freshDeps(), pipeline.env.tenantId, quiet);
    expect(result).toEqual({ kind: 'skipped', reason: 'not-granted' });
    expect(counters()['GET /users']).toBeUndefined();
    expect((await storedAttributes()).size).toBe(0);
  });

  it('with the permission, writes every user’s attributes onto its mirror row and leaves the other columns', async () => {
    pipeline.control.setGrantedPermissions([
      'User.Read.All',
      'GroupMember.Read.All',
      SECURITY_ATTRIBUTES_PERMISSION,
    ]);
    const deps = freshDeps();
    const withAttributes = pipeline.control.snapshot().users.filter((u) => u.customSecurityAttributes);
    expect(withAttributes.length).toBeGreaterThan(0);
    const sample = withAttributes[0]!;
    const partition = bucketPartition(
      pipeline.env.tenantId,
      userBucketOf(pipeline.env.tenantId, sample.id, deps.buckets),
    );
    const before = await deps.tables.get(TABLES.dirUsers, partition, sample.id);
    const result = await readSecurityAttributes(deps, pipeline.env.tenantId, quiet);
    expect(result.kind).toBe('completed');
    const stored = await storedAttributes();
    expect(new Set(stored.keys())).toEqual(new Set(withAttributes.map((u) => u.id)));
    const project = (sample.customSecurityAttributes as { Engineering: { Project: string[] } }).Engineering
      .Project;
    expect(JSON.parse(stored.get(sample.id)!)).toEqual({
      Engineering: { CostCenter: expect.any(Number) as number, Project: project },
    });
    const after = await deps.tables.get(TABLES.dirUsers, partition, sample.id);
    expect(after?.facts).toBe(before?.facts);
    expect(after?.version).toBe(before?.version);
    expect(typeof after?.securityAttributesAt).toBe('string');
    expect((await deps.passState.securityPass(pipeline.env.tenantId)).completedAt).not.toBe('');
  });

  it('a second pass writes nothing; a changed attribute is the one row written', async () => {
    const deps = freshDeps();
    const again = await readSecurityAttributes(deps, pipeline.env.tenantId, quiet);
    expect(again).toMatchObject({ kind: 'completed', changed: [] });
    const user = pipeline.control.snapshot().users.find((u) => u.customSecurityAttributes)!;
    pipeline.control.setSecurityAttributes(user.id, {
      Engineering: { '@odata.type': '#microsoft.graph.customSecurityAttributeValue', Project: ['Zephyr'] },
    });
    const changed = await readSecurityAttributes(deps, pipeline.env.tenantId, quiet);
    expect(changed).toMatchObject({ kind: 'completed', changed: [user.id] });
    expect(JSON.parse((await storedAttributes()).get(user.id)!)).toEqual({
      Engineering: { Project: ['Zephyr'] },
    });
  });

  it('is requested on a schedule at most every few hours', async () => {
    const deps = pipeline.deps();
    await drainQueue(deps.queues.client(QUEUES.securityAttributeRequests));
    // The host's pass scheduler may have asked already since the mapping was saved; either way, once.
    await requestDuePasses(deps);
    expect((await deps.passState.securityPass(pipeline.env.tenantId)).requestedAt).not.toBe('');
    expect((await requestDuePasses(deps)).securityAttributes).toEqual([]);
    const later = { ...deps, now: () => new Date(Date.now() + 7 * 3_600_000) };
    expect((await requestDuePasses(later)).securityAttributes).toEqual([pipeline.env.tenantId]);
  });
});
