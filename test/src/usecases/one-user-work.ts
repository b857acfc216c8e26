/** A bucket's work of one user's change, for tests of the chunk's applier against Azurite. */
import type { TenantGroups } from '../../../src/adapters/storage/group-graph-store.js';
import { userBucketOf } from '../../../src/domain/bucket.js';
import type { UserChange } from '../../../src/domain/directory.js';
import { policySchema } from '../../../src/domain/policy.js';
import { encodeVersion } from '../../../src/domain/version.js';
import type { BucketWork } from '../../../src/usecases/reconcile-chunk.js';
import { factsOf, TENANT } from '../domain/arbitraries.js';

/** A tenant without groups. */
export const NO_GROUPS: TenantGroups = {
  version: 1,
  deleted: new Set(),
  children: { children: new Map() },
  parents: { children: new Map() },
  alive: new Set(),
};

/**
 * The user `userId` described in round `round` of run `runId` (its facts: factsOf's, with `facts` over
 * them), in its bucket of `buckets`, planned under the default policy; the managers index is left out
 * (not these tests' subject): nothing kept.
 */
export function oneUserWork(options: {
  userId: string;
  round: number;
  runId: string;
  buckets: number;
  facts?: Parameters<typeof factsOf>[0];
}): BucketWork {
  const { userId, round, runId, buckets } = options;
  const change: UserChange = {
    kind: 'user',
    id: userId,
    version: encodeVersion({ round, page: 0, index: 0 }),
    facts: factsOf(options.facts),
  };
  const work = {
    tenantId: TENANT,
    runId,
    bucket: userBucketOf(TENANT, userId, buckets),
    buckets,
    changes: [change],
    now: new Date().toISOString(),
    source: 'test',
    fresh: false,
    settledRound: 0,
    sources: () => Promise.resolve({ policy: policySchema.parse({}), groups: NO_GROUPS }),
    managerIndex: { update: () => Promise.resolve(), read: () => Promise.resolve(new Map()) },
  };
  return work as unknown as BucketWork;
}
