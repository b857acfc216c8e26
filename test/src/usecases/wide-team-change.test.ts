/**
 * A person whose teams change by thousands in one write: a user in 2,000 groups whose memberships reach
 * the mirror before its own facts (a chunk of memberships applied before the user's chunk), or whose
 * teams all come at once (a settings change turning group sync on). Its row carries the change's events
 * (event-outbox.ts), one per team, and must stay within Table Storage's limits. Against Azurite, with
 * the one table gateway that enforces them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type EmbeddedAzurite, startAzurite } from '../../../local/azurite/embedded-azurite.js';
import { ChunkStore } from '../../../src/adapters/storage/chunk-store.js';
import { personFromRow } from '../../../src/adapters/storage/directory-rows.js';
import { EventStore } from '../../../src/adapters/storage/event-store.js';
import type { TenantGroups } from '../../../src/adapters/storage/group-graph-store.js';
import { ManagerIndex } from '../../../src/adapters/storage/manager-index.js';
import { storageAccountFromConnectionString } from '../../../src/adapters/storage/storage-account.js';
import { CONTAINERS, TABLES } from '../../../src/adapters/storage/storage-names.js';
import { TableGateway } from '../../../src/adapters/storage/table-gateway.js';
import { bucketPartition } from '../../../src/domain/bucket.js';
import type { DirectoryChange } from '../../../src/domain/directory.js';
import { policySchema } from '../../../src/domain/policy.js';
import { encodeVersion } from '../../../src/domain/version.js';
import { applyUserBucket, type BucketWork } from '../../../src/usecases/reconcile-chunk.js';
import { factsOf, PERSON_ID, TENANT, USER_ID } from '../domain/arbitraries.js';

const WIDE = 2000;
const groupIds = Array.from(
  { length: WIDE },
  (_, i) => `b0000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
);
const GROUP_GRAPH: TenantGroups = {
  version: 1,
  deleted: new Set(),
  children: { children: new Map() },
  parents: { children: new Map() },
  alive: new Set(groupIds),
};
const version = (round: number, page: number, index: number): string => encodeVersion({ round, page, index });

describe('a person whose teams change by thousands in one write', () => {
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
      buckets: 1,
      changes,
      now: new Date().toISOString(),
      source: 'test',
      fresh: false,
      settledRound: 0,
      sources: () => Promise.resolve({ policy: policySchema.parse({}), groups: GROUP_GRAPH }),
      managerIndex: index,
    };
  }

  it('joins 2,000 teams in one change: every team on its row, within the limits, one team.member_added each in the feed', async () => {
    // The user's own chunk: a person with no team yet.
    const created = await applyUserBucket(
      tables,
      work('run-1', [
        { kind: 'user', id: USER_ID, version: version(1, 0, 0), facts: factsOf(), manager: null },
      ]),
    );
    expect(created.counts).toEqual({ created: 1 });

    // Its 2,000 memberships, all at once (applied late: a reordered delivery, or a resumed round).
    const memberships: DirectoryChange[] = groupIds.map((groupId, i) => ({
      kind: 'edge',
      groupId,
      memberId: USER_ID,
      memberType: 'user',
      present: true,
      version: version(1, 1, i),
    }));
    const joined = await applyUserBucket(tables, work('run-1', memberships));

    expect(joined.errors).toEqual([]);
    // The run counted the person once, when it created it.
    expect(joined.counts).toEqual({});
    const row = await tables.get(TABLES.people, bucketPartition(TENANT, 0), PERSON_ID);
    expect(personFromRow(row!).person.teams).toHaveLength(WIDE);
    const feed = await new EventStore(tables, 1).read(TENANT, { limit: 10 * WIDE });
    expect(feed.filter((e) => e.type === 'team.member_added')).toHaveLength(WIDE);
  });
});
