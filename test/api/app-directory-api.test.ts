/** Issue 8, point 3: the app's side of the directory (people, their history, teams, custom properties). */
import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { personToRow } from '../../src/adapters/storage/directory-rows.js';
import { emailIndexKey } from '../../src/adapters/storage/email-index-store.js';
import { PeopleStore } from '../../src/adapters/storage/people-store.js';
import { personHistoryPartition } from '../../src/adapters/storage/person-history-store.js';
import { TABLES } from '../../src/adapters/storage/storage-names.js';
import type { PersonRecord } from '../../src/domain/person.js';
import { PERSON_FIELDS } from '../../src/domain/policy.js';
import { PipelineUnderTest } from '../pipeline/pipeline-harness.js';
import { type ApiCall, apiClient } from './api-client.js';

type Person = Omit<PersonRecord, 'synced' | 'history'> & {
  etag: string;
  photo?: { url: string; etag: string };
};
interface PeopleBody {
  readonly people: Person[];
  readonly continuationToken?: string;
}
interface IssuesBody {
  readonly error: string;
  readonly issues: { path: string; message: string }[];
}

describe('the app side of the directory API', () => {
  let pipeline: PipelineUnderTest;
  let api: ApiCall;
  let tenantId: string;
  let people: PeopleStore;
  const teamId = randomUUID();
  const seeded: PersonRecord[] = [];

  function person(i: number, overrides: Partial<PersonRecord> = {}): PersonRecord {
    const values = Object.fromEntries(PERSON_FIELDS.map((field) => [field, null])) as Record<
      (typeof PERSON_FIELDS)[number],
      string | null
    >;
    return {
      ...values,
      displayName: `Person ${String(i).padStart(2, '0')}`,
      email: `person${i}@contoso.com`,
      personId: randomUUID(),
      origin: 'entra',
      sourceObjectId: randomUUID(),
      status: i % 2 === 0 ? 'active' : 'deactivated',
      previousStatus: i % 2 === 0 ? null : 'active',
      managerId: null,
      entraManagerId: null,
      managerProblem: null,
      custom: {},
      synced: { displayName: `Person ${String(i).padStart(2, '0')}` },
      teams: i % 3 === 0 ? [teamId] : [],
      history: [],
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      ...overrides,
    };
  }

  /** Every page of a list, following continuation tokens. */
  async function allPages(query: string): Promise<{ people: Person[]; pages: number }> {
    const found: Person[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const separator = query === '' ? '' : '&';
      const response = await api<PeopleBody>(
        'GET',
        `people?${query}${token ? `${separator}continuationToken=${encodeURIComponent(token)}` : ''}`,
      );
      expect(response.status).toBe(200);
      found.push(...response.body.people);
      token = response.body.continuationToken;
      pages += 1;
    } while (token !== undefined && pages < 50);
    return { people: found, pages };
  }

  beforeAll(async () => {
    pipeline = await PipelineUnderTest.start({ standin: { users: 10, seed: 82 } });
    api = apiClient(() => pipeline.env.host().httpBaseUrl, pipeline.env.functionKey);
    tenantId = pipeline.env.tenantId;
    const { tables, buckets } = pipeline.deps();
    people = new PeopleStore(tables, buckets);
    for (let i = 0; i < 30; i += 1) {
      const overrides: Partial<PersonRecord> =
        i === 4
          ? { displayName: 'Alice Martin', email: 'amartin@contoso.com' }
          : i === 9
            ? { displayName: 'Bea Moreau', email: 'ALICE.b@contoso.com' }
            : {};
      seeded.push(person(i, overrides));
    }
    for (const p of seeded)
      await tables.upsert(TABLES.people, personToRow(people.partitionOf(tenantId, p.personId), p));
    const defined = await api('PUT', 'custom-properties', [
      { name: 'costCenter', type: 'string', description: 'finance code' },
      { name: 'headcount', type: 'number' },
      { name: 'startDate', type: 'date' },
    ]);
    expect(defined.status).toBe(200);
  });

  afterAll(async () => {
    await pipeline?.stop();
  });

  it('lists people in pages with a continuation token across every bucket partition, and filters by status and team', async () => {
    const all = await allPages('top=7');
    expect(all.pages).toBeGreaterThanOrEqual(5);
    expect(all.people.map((p) => p.personId).sort()).toEqual(seeded.map((p) => p.personId).sort());
    expect(new Set(seeded.map((p) => people.partitionOf(tenantId, p.personId))).size).toBeGreaterThan(10);
    expect(all.people[0]).not.toHaveProperty('synced');
    expect(all.people[0]).not.toHaveProperty('history');

    const deactivated = await allPages('status=deactivated&top=4');
    expect(deactivated.people.map((p) => p.personId).sort()).toEqual(
      seeded
        .filter((p) => p.status === 'deactivated')
        .map((p) => p.personId)
        .sort(),
    );
    const inTeam = await allPages(`team=${teamId}&top=3`);
    expect(inTeam.people.map((p) => p.personId).sort()).toEqual(
      seeded
        .filter((p) => p.teams.includes(teamId))
        .map((p) => p.personId)
        .sort(),
    );
    const both = await allPages(`team=${teamId}&status=active`);
    expect(both.people.every((p) => p.status === 'active' && p.teams.includes(teamId))).toBe(true);
    expect(both.people).toHaveLength(5);

    expect((await api<IssuesBody>('GET', 'people?status=gone')).body.issues[0]!.path).toBe('status');
    expect((await api<IssuesBody>('GET', 'people?continuationToken=bogus')).status).toBe(400);
  });

  it('searches display names and emails, case-insensitively, page by page', async () => {
    const found = await allPages('search=ALIce&top=1');
    expect(found.people.map((p) => p.displayName).sort()).toEqual(['Alice Martin', 'Bea Moreau']);
    expect(found.pages).toBeGreaterThanOrEqual(2);
    expect((await allPages('search=nobody-at-all')).people).toEqual([]);
  });

  it('POST creates an unlinked person by hand (status created, email normalized, in peopleByEmail) that GET answers', async () => {
    const created = await api<Person>('POST', 'people', {
      email: '  Pat.Doe@Contoso.com ',
      displayName: 'Pat Doe',
      jobTitle: 'Engineer',
      custom: { headcount: '12' },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/api/people/${created.body.personId}`);
    expect(created.body).toMatchObject({
      origin: 'app',
      sourceObjectId: null,
      status: 'created',
      email: 'pat.doe@contoso.com',
      displayName: 'Pat Doe',
      custom: { headcount: 12 },
    });
    const read = await api<Person>('GET', `people/${created.body.personId}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);
    expect(read.headers.get('etag')).toBe(read.body.etag);

    const twin = await api<Person>('POST', 'people', { email: 'pat.doe@contoso.com', status: 'invited' });
    expect(twin.status).toBe(201);
    expect(twin.body.status).toBe('invited');
    const index = await pipeline
      .deps()
      .tables.get(TABLES.peopleByEmail, tenantId, emailIndexKey('pat.doe@contoso.com'));
    expect(JSON.parse(String(index!.personIds))).toEqual([created.body.personId, twin.body.personId]);

    const badStatus = await api<IssuesBody>('POST', 'people', {
      email: 'x@contoso.com',
      status: 'deactivated',
    });
    expect(badStatus.status).toBe(400);
    expect(badStatus.body.issues.map((i) => i.path)).toEqual(['status']);
    const noEmail = await api<IssuesBody>('POST', 'people', { displayName: 'Nobody' });
    expect(noEmail.body.issues.map((i) => i.path)).toEqual(['email']);
  });

  it('GET of an unknown person is 404, and a person with a stored photo has its link', async () => {
    expect((await api('GET', `people/${randomUUID()}`)).status).toBe(404);
    const withPhoto = seeded[0]!;
    await pipeline.deps().tables.upsert(TABLES.personPhotos, {
      partitionKey: people.partitionOf(tenantId, withPhoto.personId),
      rowKey: withPhoto.personId,
      mediaEtag: 'W/"photo-1"',
      blobName: `${tenantId}/${withPhoto.personId}`,
      contentType: 'image/jpeg',
      bytes: 10,
      updatedAt: '2026-01-01T00:00:00.000Z',
    });
    const read = await api<Person>('GET', `people/${withPhoto.personId}`);
    expect(read.body.photo).toEqual({ url: `/api/people/${withPhoto.personId}/photo`, etag: 'W/"photo-1"' });
    expect((await api<Person>('GET', `people/${seeded[1]!.personId}`)).body.photo).toBeUndefined();
  });

  it('PATCH edits built-in fields, custom properties (coerced to their types) and the status, never the synced base', async () => {
    const target = seeded[2]!;
    const edited = await api<Person>('PATCH', `people/${target.personId}`, {
      jobTitle: 'Head of Sales',
      department: '',
      custom: { costCenter: ' CC-42 ', headcount: '7', startDate: '2024-03-01T09:00:00Z' },
      status: 'invited',
    });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({
      jobTitle: 'Head of Sales',
      department: null,
      status: 'invited',
      custom: { costCenter: 'CC-42', headcount: 7, startDate: '2024-03-01' },
      displayName: target.displayName,
    });
    const stored = await people.get(tenantId, target.personId);
    expect(stored!.person.synced).toEqual(target.synced);
    expect(stored!.person.teams).toEqual(target.teams);

    const deactivate = await api<IssuesBody>('PATCH', `people/${target.personId}`, { status: 'deactivated' });
    expect(deactivate.status).toBe(400);
    expect(deactivate.body.issues.map((i) => i.path)).toEqual(['status']);
    const uncoercible = await api<IssuesBody>('PATCH', `people/${target.personId}`, {
      custom: { headcount: 'twelve', startDate: '2024-02-30', shoeSize: 44 },
    });
    expect(uncoercible.status).toBe(400);
    expect(uncoercible.body.issues.map((i) => i.path).sort()).toEqual([
      'custom.headcount',
      'custom.shoeSize',
      'custom.startDate',
    ]);
    const unknownField = await api<IssuesBody>('PATCH', `people/${target.personId}`, { synced: {} });
    expect(unknownField.status).toBe(400);
    expect((await api('PATCH', `people/${randomUUID()}`, { jobTitle: 'x' })).status).toBe(404);
    expect((await people.get(tenantId, target.personId))!.person.custom.headcount).toBe(7);
  });

  it('PATCH with a stale If-Match answers 412 and writes nothing; with the current ETag it writes', async () => {
    const target = seeded[6]!;
    const read = await api<Person>('GET', `people/${target.personId}`);
    const first = await api<Person>(
      'PATCH',
      `people/${target.personId}`,
      { jobTitle: 'One' },
      { 'if-match': read.body.etag },
    );
    expect(first.status).toBe(200);
    expect(first.body.etag).not.toBe(read.body.etag);
    const stale = await api(
      'PATCH',
      `people/${target.personId}`,
      { jobTitle: 'Two' },
      { 'if-match': read.body.etag },
    );
    expect(stale.status).toBe(412);
    expect((await api<Person>('GET', `people/${target.personId}`)).body.jobTitle).toBe('One');
  });

  it("PATCH of an unlinked person's email moves its peopleByEmail entry", async () => {
    const created = await api<Person>('POST', 'people', { email: 'old.name@contoso.com' });
    const moved = await api<Person>('PATCH', `people/${created.body.personId}`, {
      email: 'New.Name@contoso.com',
    });
    expect(moved.body.email).toBe('new.name@contoso.com');
    const { tables } = pipeline.deps();
    const ids = async (email: string): Promise<string[]> => {
      const row = await tables.get(TABLES.peopleByEmail, tenantId, emailIndexKey(email));
      return row ? (JSON.parse(row.personIds as string) as string[]) : [];
    };
    expect(await ids('new.name@contoso.com')).toEqual([created.body.personId]);
    expect(await ids('old.name@contoso.com')).toEqual([]);
  });

  it('history after PATCHes: newest first, paged, the oldest moved from the row to personHistory', async () => {
    const created = await api<Person>('POST', 'people', {
      email: 'historic@contoso.com',
      displayName: 'Hist',
    });
    const id = created.body.personId;
    for (let i = 1; i <= 23; i += 1) {
      const edit = await api('PATCH', `people/${id}`, { jobTitle: `Title ${i}` });
      expect(edit.status).toBe(200);
    }
    const stored = await people.get(tenantId, id);
    expect(stored!.person.history).toHaveLength(20);
    const moved = await pipeline
      .deps()
      .tables.listPartition(TABLES.personHistory, personHistoryPartition(tenantId, id));
    expect(moved).toHaveLength(4);

    type HistoryBody = {
      history: {
        kind: string;
        rule: string;
        runId: string;
        changes?: { key: string; from: unknown; to: unknown }[];
      }[];
      continuationToken?: string;
    };
    const entries: HistoryBody['history'] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await api<HistoryBody>(
        'GET',
        `people/${id}/history?top=7${token ? `&continuationToken=${encodeURIComponent(token)}` : ''}`,
      );
      expect(page.status).toBe(200);
      entries.push(...page.body.history);
      token = page.body.continuationToken;
      pages += 1;
    } while (token !== undefined && pages < 10);
    expect(entries).toHaveLength(24);
    expect(pages).toBe(4);
    expect(entries[0]).toMatchObject({
      kind: 'edited',
      runId: '',
      rule: 'app: edited through the API',
      changes: [{ key: 'jobTitle', from: 'Title 22', to: 'Title 23' }],
    });
    expect(entries.slice(0, 23).map((e) => e.changes![0]!.to)).toEqual(
      Array.from({ length: 23 }, (_, i) => `Title ${23 - i}`),
    );
    expect(entries[23]).toMatchObject({ kind: 'created', rule: 'app: created through the API' });
    expect((await api('GET', `people/${randomUUID()}/history`)).status).toBe(404);
  });

  it('teams: POST makes an app team, GET lists it beside the Entra-synced ones', async () => {
    const groupId = randomUUID();
    await pipeline.deps().tables.upsert(TABLES.teams, {
      partitionKey: tenantId,
      rowKey: randomUUID(),
      name: 'Engineering',
      description: 'from Entra',
      status: 'archived',
      sourceGroupId: groupId,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    });
    const made = await api<{ teamId: string; origin: string; status: string }>('POST', 'teams', {
      name: ' Book club ',
      description: 'Thursdays',
    });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({
      name: 'Book club',
      origin: 'app',
      status: 'active',
      sourceGroupId: null,
    });
    const listed = await api<{
      teams: { teamId: string; name: string; origin: string; sourceGroupId: string | null; status: string }[];
    }>('GET', 'teams');
    expect(listed.status).toBe(200);
    expect(listed.body.teams.find((t) => t.teamId === made.body.teamId)).toMatchObject({ origin: 'app' });
    expect(listed.body.teams.find((t) => t.name === 'Engineering')).toMatchObject({
      origin: 'entra',
      sourceGroupId: groupId,
      status: 'archived',
    });
    expect((await api<IssuesBody>('POST', 'teams', { description: 'no name' })).body.issues[0]!.path).toBe(
      'name',
    );
  });

  it('custom properties: PUT replaces the list, GET answers it; bad types and duplicates are 400; deleting one a saved mapping uses is 409', async () => {
    const replaced = await api<{ properties: { name: string; type: string }[] }>('PUT', 'custom-properties', [
      { name: 'costCenter', type: 'string', description: 'finance code' },
      { name: 'skills', type: 'string-list' },
      { name: 'remote', type: 'boolean' },
    ]);
    expect(replaced.status).toBe(200);
    const listed = await api<{ properties: { name: string; type: string; description?: string }[] }>(
      'GET',
      'custom-properties',
    );
    expect(listed.body.properties).toEqual([
      { name: 'costCenter', type: 'string', description: 'finance code' },
      { name: 'remote', type: 'boolean' },
      { name: 'skills', type: 'string-list' },
    ]);
    const badType = await api<IssuesBody>('PUT', 'custom-properties', [{ name: 'x', type: 'json' }]);
    expect(badType.body.issues.map((i) => i.path)).toEqual(['0.type']);
    const twice = await api<IssuesBody>('PUT', 'custom-properties', [
      { name: 'a', type: 'string' },
      { name: 'a', type: 'number' },
    ]);
    expect(twice.body.issues.map((i) => i.path)).toEqual(['1.name']);

    const { connections } = pipeline.deps();
    const connection = (await connections.get(tenantId))!;
    await connections.save(
      {
        ...connection.settings,
        policy: {
          ...connection.settings.policy,
          mappings: [{ source: 'department', target: { customProperty: 'costCenter' }, when: 'always' }],
        },
      },
      null,
    );
    const refused = await api<{ error: string; mappings: { index: number; source: string }[] }>(
      'PUT',
      'custom-properties',
      [{ name: 'skills', type: 'string-list' }],
    );
    expect(refused.status).toBe(409);
    expect(refused.body.mappings).toEqual([
      { index: 0, source: 'department', target: { customProperty: 'costCenter' }, when: 'always' },
    ]);
    expect((await api<{ properties: unknown[] }>('GET', 'custom-properties')).body.properties).toHaveLength(
      3,
    );
  });

  it('the connection is the tenantId query parameter, required once there are two, 404 when unknown', async () => {
    expect((await api('GET', `people?tenantId=${randomUUID()}`)).status).toBe(404);
    const { connections } = pipeline.deps();
    const other = randomUUID();
    const connection = (await connections.get(tenantId))!;
    await connections.save({ ...connection.settings, tenantId: other, displayName: 'Second' }, null);
    const ambiguous = await api<IssuesBody>('GET', 'teams');
    expect(ambiguous.status).toBe(400);
    expect(ambiguous.body.issues.map((i) => i.path)).toEqual(['tenantId']);
    expect((await api<PeopleBody>('GET', `people?tenantId=${tenantId}&top=1`)).body.people).toHaveLength(1);
    expect((await api<PeopleBody>('GET', `people?tenantId=${other}`)).body.people).toEqual([]);
  });
});
