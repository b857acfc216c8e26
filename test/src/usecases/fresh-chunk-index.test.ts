/**
 * A tenant's first round applies its chunks assuming nothing exists yet (no reads); a chunk that meets
 * rows that do exist is applied again the ordinary way. Against Azurite: the managers index
 * (manager-index.ts) must come out of that as the people rows are, whatever the fresh attempt assumed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type EmbeddedAzurite, startAzurite } from '../../../local/azurite/embedded-azurite.js';
import { ChunkStore } from '../../../src/adapters/storage/chunk-store.js';
import { personFromRow } from '../../../src/adapters/storage/directory-rows.js';
import type { TenantGroups } from '../../../src/adapters/storage/group-graph-store.js';
import { ManagerIndex } from '../../../src/adapters/storage/manager-index.js';
import { storageAccountFromConnectionString } from '../../../src/adapters/storage/storage-account.js';
import { CONTAINERS, TABLES } from '../../../src/adapters/storage/storage-names.js';
import { TableGateway } from '../../../src/adapters/storage/table-gateway.js';
import { bucketPartition } from '../../../src/domain/bucket.js';
import type { DirectoryChange } from '../../../src/domain/directory.js';
import { policySchema } from '../../../src/domain/policy.js';
import { encodeVersion } from '../../../src/domain/version.js';
import { managerEntryOf } from '../../../src/usecases/project-people.js';
import { applyUserBucket, type BucketWork, type DecidedHook } from '../../../src/usecases/reconcile-chunk.js';
import { factsOf, GROUPS, MANAGERS, TENANT, USER_ID } from '../domain/arbitraries.js';

const BUCKETS = 1;
const GROUP_GRAPH: TenantGroups = {
  version: 1,
  deleted: new Set(),
  children: { children: new Map() },
  parents: { children: new Map() },
  alive: new Set(GROUPS),
};
const MANAGER = MANAGERS[0];
const version = (page: number, index: number): string => encodeVersion({ round: 1, page, index });

/** The user and its manager joining a group, as a page of memberships. */
function membershipsIn(groupId: string, page: number): DirectoryChange[] {
  return [USER_ID, MANAGER].map((memberId, index) => ({
    kind: 'edge',
    groupId,
    memberId,
    memberType: 'user',
    present: true,
    version: version(page, index),
  }));
}

/** The first round's users page: a user and its manager, each with a membership. */
const usersPage: DirectoryChange[] = [
  { kind: 'user', id: USER_ID, version: version(0, 0), facts: factsOf(), manager: MANAGER },
  {
    kind: 'user',
    id: MANAGER,
    version: version(0, 1),
    facts: factsOf({ displayName: 'Megan Bowen', mail: 'MeganB@contoso.onmicrosoft.com' }),
    manager: null,
  },
  ...membershipsIn(GROUPS[0], 1),
];

describe('a first round chunk applied over rows that exist', () => {
  let azurite: EmbeddedAzurite;
  let tables: TableGateway;
  let index: ManagerIndex;

  beforeAll(async () => {
    azurite = await startAzurite();
    const account = storageAccountFromConnectionString(azurite.connectionString);
    tables = new TableGateway(account);
    await Promise.all(Object.values(TABLES).map((t) => tables.client(t).createTable()));
    const blobs = new ChunkStore(account.blobService(), CONTAINERS.changeSets);
    await blobs.createContainer();
    index = new ManagerIndex(blobs);
  });
  afterAll(async () => {
    await azurite?.stop();
  });

  function work(runId: string, changes: DirectoryChange[]): BucketWork {
    return {
      tenantId: TENANT,
      runId,
      bucket: 0,
      buckets: BUCKETS,
      changes,
      now: new Date().toISOString(),
      source: 'test',
      fresh: true,
      settledRound: 0,
      sources: () => Promise.resolve({ policy: policySchema.parse({}), groups: GROUP_GRAPH }),
      managerIndex: index,
    };
  }

  /** A decided hook that keeps each chunk's counts as decided (the run records a chunk's first decision). */
  function countsRecorder(): { counted: Record<string, number>[]; decided: DecidedHook } {
    const counted: Record<string, number>[] = [];
    return {
      counted,
      decided: (outcome) => {
        counted.push({ ...outcome.counts });
        return Promise.resolve();
      },
    };
  }

  /** The index entries the people rows call for: what the managers rule must read. */
  async function entriesOfPeople(): Promise<Map<string, unknown>> {
    const rows = await tables.listPartition(TABLES.people, bucketPartition(TENANT, 0));
    const entries = new Map<string, unknown>();
    for (const row of rows) {
      const { person } = personFromRow(row);
      entries.set(person.sourceObjectId!, managerEntryOf(person, person.sourceObjectId!));
    }
    return entries;
  }

  /** The index holds exactly these entries, and the people rows still call for them. */
  async function expectIndexAndPeople(expected: Map<string, unknown>): Promise<void> {
    expect(new Map(await index.read(TENANT, 0))).toEqual(expected);
    expect(await entriesOfPeople()).toEqual(expected);
  }

  it('memberships delivered again in a chunk of their own (a resumed fetch) leave every person in the managers index', async () => {
    await applyUserBucket(tables, work('run-1', usersPage));
    const expected = await entriesOfPeople();
    expect([...expected.keys()].sort()).toEqual([USER_ID, MANAGER].sort());
    expect(new Map(await index.read(TENANT, 0))).toEqual(expected);

    // The resumed fetch publishes the memberships it had held for the users as a chunk of their own:
    // duplicates of what the users' chunk applied, for users whose rows exist.
    await applyUserBucket(
      tables,
      work(
        'run-1',
        usersPage.filter((c) => c.kind === 'edge'),
      ),
    );

    await expectIndexAndPeople(expected);
  });

  it('user facts delivered again without the memberships that put the users in scope keep their entries', async () => {
    const scoped = policySchema.parse({ scope: { groups: [GROUPS[0]] } });
    const inScope = (runId: string, changes: DirectoryChange[]): BucketWork => ({
      ...work(runId, changes),
      sources: () => Promise.resolve({ policy: scoped, groups: GROUP_GRAPH }),
    });
    await applyUserBucket(tables, inScope('run-1', usersPage));
    const expected = await entriesOfPeople();
    // A resumed fetch's users page again, alone: from an empty directory (what the fresh attempt
    // assumes) these users are in no group, so out of scope; the rows say otherwise.
    await applyUserBucket(
      tables,
      inScope(
        'run-1',
        usersPage.filter((c) => c.kind === 'user'),
      ),
    );
    await expectIndexAndPeople(expected);
  });

  it('a chunk of memberships alone is decided from the rows, not from an empty directory: its change set counts the people it updates', async () => {
    const { counted, decided } = countsRecorder();
    // The run records a chunk's first decision only (reconcile-message.ts): it must be the true one.
    await applyUserBucket(tables, work('run-2', membershipsIn(GROUPS[1], 2)), decided);
    expect(counted[0]).toEqual({ updated: 2 });
  });

  it('a run counts each person once: later messages of the run that describe the people again, or change their teams, count nothing', async () => {
    const { counted, decided } = countsRecorder();
    const apply = (changes: DirectoryChange[]) =>
      applyUserBucket(tables, { ...work('run-renamed', changes), fresh: false }, decided);
    const renamedAt = encodeVersion({ round: 2, page: 0, index: 0 });
    const renamed: DirectoryChange[] = [
      {
        kind: 'user',
        id: USER_ID,
        version: renamedAt,
        facts: factsOf({ jobTitle: 'Renamed' }),
        manager: MANAGER,
      },
      {
        kind: 'user',
        id: MANAGER,
        version: renamedAt,
        facts: factsOf({
          displayName: 'Megan Bowen',
          mail: 'MeganB@contoso.onmicrosoft.com',
          jobTitle: 'Renamed',
        }),
        manager: null,
      },
    ];
    await apply(renamed);
    // The same users again (a page a resumed fetch read twice), then memberships of the same people:
    // the bucket's changes filled more than one message of the run.
    await apply(renamed);
    await apply(
      membershipsIn(GROUPS[2], 4).map((c) => ({
        ...c,
        version: encodeVersion({ round: 2, page: 4, index: 0 }),
      })),
    );
    expect(counted).toEqual([{ updated: 2 }, {}, {}]);
  });

  it('a user out of scope, described again by a later message of the run, counts nothing, as it did the first time', async () => {
    const outsider = '5f1a7c3e-0b2d-4e8f-9a6b-1c2d3e4f5a6b';
    const scoped = policySchema.parse({ scope: { groups: [GROUPS[0]] } });
    const { counted, decided } = countsRecorder();
    const outsiderPage: DirectoryChange[] = [
      {
        kind: 'user',
        id: outsider,
        version: encodeVersion({ round: 3, page: 0, index: 0 }),
        facts: factsOf({ displayName: 'Out Sider', mail: 'outsider@contoso.onmicrosoft.com' }),
        manager: null,
      },
    ];
    const apply = () =>
      applyUserBucket(
        tables,
        {
          ...work('run-outsider', outsiderPage),
          fresh: false,
          sources: () => Promise.resolve({ policy: scoped, groups: GROUP_GRAPH }),
        },
        decided,
      );
    await apply();
    // The same page again: a resumed fetch reads it twice; the mirror already holds it.
    await apply();
    expect(counted).toEqual([{}, {}]);
  });

  it("a chunk of memberships alone, meeting people whose users' mirror rows were never written, takes nobody out of the directory", async () => {
    // The users' chunk wrote their people and died before its mirror write (the mirror is written last).
    const pk = bucketPartition(TENANT, 0);
    await tables.transact(
      TABLES.dirUsers,
      (await tables.listPartition(TABLES.dirUsers, pk)).map((row) => [
        'delete',
        { partitionKey: pk, rowKey: row.rowKey },
      ]),
    );
    const people = await entriesOfPeople();
    const outcome = await applyUserBucket(tables, work('run-3', membershipsIn(GROUPS[0], 3)));
    // Graph has not described these users to the mirror: their people stay as they are, nothing held.
    expect(outcome.held ?? []).toEqual([]);
    expect(outcome.counts).toEqual({ unchanged: 2 });
    expect(await entriesOfPeople()).toEqual(people);
  });
});
