import { withPartitionLock } from '../adapters/storage/partition-lock.js';
import {
  mergeSecurityAttributes,
  readSecurityAttributeColumns,
} from '../adapters/storage/security-attribute-rows.js';
import { QUEUES } from '../adapters/storage/storage-names.js';
import { isWriteConflict } from '../adapters/storage/table-gateway.js';
import { bucketPartition, userBucketOf } from '../domain/bucket.js';
import type { JsonValue, SecurityAttributes } from '../domain/directory.js';
import {
  SECURITY_ATTRIBUTES_MAX_AGE_HOURS,
  SECURITY_ATTRIBUTES_PERMISSION,
  usesSecurityAttributes,
} from '../domain/mirrored-properties.js';
import { forEachConcurrently } from '../shared/concurrency.js';
import { SyncError } from '../shared/errors.js';
import { usersLock } from './feed-writers.js';
import type { SecurityAttributePassRequest } from './messages.js';
import type { Logger, PipelineDeps } from './pipeline-deps.js';
import { requestReproject } from './request-sync.js';

export type SecurityAttributePassResult =
  | { readonly kind: 'skipped'; readonly reason: 'no-connection' | 'not-mapped' | 'not-granted' }
  | {
      readonly kind: 'completed';
      /** Users Graph listed. */
      readonly users: number;
      /** Mirror rows whose attributes changed (written). */
      readonly changed: readonly string[];
      readonly graphRequests: number;
    };

/** Bucket partitions written at once. */
const BUCKET_CONCURRENCY = 4;
const WRITE_ATTEMPTS = 3;

/**
 * The custom-security-attribute pass: delta does not track `customSecurityAttributes`, so when a
 * mapping (or the scope `$filter`) uses them and the token carries
 * `CustomSecAttributeAssignment.Read.All`, every user's attributes are listed
 * (`/users?$select=id,customSecurityAttributes`, paged) and written onto the users' existing mirror
 * rows, bucket by bucket under each bucket's lock, ETag'd, only where they changed. Users not in the
 * mirror yet are left for the next pass (their row is made by a delta round).
 */
export async function readSecurityAttributes(
  deps: PipelineDeps,
  tenantId: string,
  log: Logger,
): Promise<SecurityAttributePassResult> {
  const connection = await deps.connections.get(tenantId);
  if (!connection || !connection.settings.enabled) return { kind: 'skipped', reason: 'no-connection' };
  if (!usesSecurityAttributes(connection.settings.policy)) return { kind: 'skipped', reason: 'not-mapped' };
  const source = await deps.securityAttributeSourceFor(connection.settings);
  if (!(await source.grantedRoles()).includes(SECURITY_ATTRIBUTES_PERMISSION)) {
    log.warn('custom security attributes are mapped but the app is not granted their permission', {
      tenantId,
      permission: SECURITY_ATTRIBUTES_PERMISSION,
    });
    return { kind: 'skipped', reason: 'not-granted' };
  }
  const startedAt = deps.now();
  const byBucket = new Map<number, Map<string, SecurityAttributes>>();
  let users = 0;
  try {
    for await (const page of source.securityAttributePages()) {
      for (const user of page) {
        users += 1;
        const bucket = userBucketOf(tenantId, user.id, deps.buckets);
        let list = byBucket.get(bucket);
        if (!list) byBucket.set(bucket, (list = new Map<string, SecurityAttributes>()));
        list.set(user.id, normalized(user.attributes));
      }
    }
  } catch (error) {
    // Consent withdrawn between the token and the list: Graph answers 403, as for any missing role.
    if (error instanceof SyncError && error.category === 'permission-denied') {
      log.warn('Graph refused the custom security attributes', { tenantId });
      return { kind: 'skipped', reason: 'not-granted' };
    }
    throw error;
  }
  const changed: string[] = [];
  await forEachConcurrently([...byBucket.entries()], BUCKET_CONCURRENCY, async ([bucket, attributes]) => {
    const partitionKey = bucketPartition(tenantId, bucket);
    const written = await withPartitionLock(deps.tables, tenantId, usersLock(bucket), async (lease) => {
      for (let attempt = 1; ; attempt += 1) {
        const stored = await readSecurityAttributeColumns(deps.tables, partitionKey);
        const updates: Array<{ id: string; etag: string; attributes: SecurityAttributes }> = [];
        for (const [id, value] of attributes) {
          const row = stored.get(id);
          if (!row) continue;
          const json = JSON.stringify(value);
          if (row.json === json || (row.json === '' && Object.keys(value).length === 0)) continue;
          updates.push({ id, etag: row.etag, attributes: value });
        }
        lease.assertHeld();
        try {
          await mergeSecurityAttributes(deps.tables, partitionKey, updates, startedAt);
          return updates.map((update) => update.id);
        } catch (error) {
          if (!isWriteConflict(error) || attempt >= WRITE_ATTEMPTS) throw error;
        }
      }
    });
    changed.push(...written);
  });
  await deps.passState.markSecurityPassCompleted(tenantId, startedAt);
  log.info('custom security attributes read', { tenantId, users, changed: changed.length });
  // Mappings may read them: the people are planned again from the mirror (no Graph request).
  if (changed.length > 0) await requestReproject(deps, tenantId);
  return { kind: 'completed', users, changed, graphRequests: source.requestCount };
}

/** Asks for a security-attribute pass (queue `security-attribute-requests`). */
export async function requestSecurityAttributePass(
  deps: PipelineDeps,
  tenantId: string,
  reason: SecurityAttributePassRequest['reason'],
): Promise<SecurityAttributePassRequest> {
  const request: SecurityAttributePassRequest = {
    type: 'security-attribute-pass',
    tenantId,
    reason,
    requestedAt: deps.now().toISOString(),
  };
  await deps.passState.markSecurityPassRequested(tenantId, deps.now());
  await deps.queues.send(QUEUES.securityAttributeRequests, request);
  return request;
}

/**
 * Whether a connection on a schedule is due a security-attribute pass: one that maps them, last
 * asked for more than SECURITY_ATTRIBUTES_MAX_AGE_HOURS ago (or never).
 */
export function securityPassDue(lastRequestedAt: string, now: Date): boolean {
  if (lastRequestedAt === '') return true;
  return now.getTime() - Date.parse(lastRequestedAt) >= SECURITY_ATTRIBUTES_MAX_AGE_HOURS * 3_600_000;
}

/** The attributes without OData annotations (`@odata.type`), keys sorted: equal values, equal JSON. */
function normalized(
  attributes: Readonly<Record<string, Readonly<Record<string, unknown>>>> | null,
): SecurityAttributes {
  const sets: Record<string, Record<string, JsonValue>> = {};
  for (const setName of Object.keys(attributes ?? {}).sort()) {
    const set: Record<string, JsonValue> = {};
    const values = attributes![setName]!;
    for (const name of Object.keys(values).sort()) {
      if (name.includes('@odata.')) continue;
      set[name] = values[name] as JsonValue;
    }
    if (Object.keys(set).length > 0) sets[setName] = set;
  }
  return sets;
}
