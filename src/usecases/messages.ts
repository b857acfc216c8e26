import { z } from 'zod';

import type { JsonValue } from '../domain/directory.js';
import { RUN_OUTCOMES } from '../domain/person-plan.js';

/**
 * The one message envelope of every queue, parsed with zod where a trigger receives it.
 * `sync-requests` → SyncRequest; `directory-changes` → DirectoryChunk; `run-events` → RunEvent.
 */
export const TRIGGERS = ['initial', 'schedule', 'notification', 'manual', 'settings'] as const;
export type Trigger = (typeof TRIGGERS)[number];

export const syncRequestSchema = z.object({
  type: z.literal('sync-request'),
  tenantId: z.string().min(1),
  trigger: z.enum(TRIGGERS),
  /** A full reconciliation: re-read everything and find what vanished. */
  full: z.boolean().default(false),
  /** Re-project everyone from the mirror under the current settings: no Graph request at all. */
  reproject: z.boolean().optional(),
  /**
   * The watchdog's: resume the tenant's stalled round. Dropped while a round holds the lease (it was
   * resumed already), and nothing when no round is in progress: never a round of its own.
   */
  resume: z.boolean().optional(),
  requestedAt: z.string(),
  /** The admin requests this round answers (POST …/sync's `requestId`): the run row carries them. */
  requestIds: z.array(z.string().min(1).max(64)).max(50).optional(),
});
export type SyncRequest = z.infer<typeof syncRequestSchema>;

const deletion = z.enum(['soft', 'hard']);
/** Any JSON value (a mirrored property, a directory extension, a custom security attribute). */
export const jsonValueSchema: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([
    z.string(),
    z.number(),
    z.boolean(),
    z.null(),
    z.array(jsonValueSchema),
    z.record(z.string(), jsonValueSchema),
  ]),
);
const nullableText = z.string().nullable();

export const userFactsSchema = z.object({
  displayName: nullableText,
  givenName: nullableText,
  surname: nullableText,
  mail: nullableText,
  userPrincipalName: nullableText,
  jobTitle: nullableText,
  department: nullableText,
  officeLocation: nullableText,
  employeeId: nullableText,
  employeeHireDate: nullableText,
  accountEnabled: z.boolean().nullable(),
  userType: nullableText,
  proxyAddresses: z.array(z.string()),
  /** Optional, so messages and rows written before they existed still parse. */
  onPremisesExtensionAttributes: z.record(z.string(), z.string().nullable()).nullable().optional(),
  more: z.record(z.string(), jsonValueSchema).optional(),
});

export const groupFactsSchema = z.object({
  displayName: nullableText,
  description: nullableText,
  mailNickname: nullableText,
});

export const directoryChangeSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('user'),
    id: z.string().min(1),
    version: z.string(),
    removed: deletion.optional(),
    facts: userFactsSchema.optional(),
    manager: z.string().nullable().optional(),
  }),
  z.object({
    kind: z.literal('group'),
    id: z.string().min(1),
    version: z.string(),
    removed: deletion.optional(),
    facts: groupFactsSchema.optional(),
  }),
  z.object({
    kind: z.literal('edge'),
    groupId: z.string().min(1),
    memberId: z.string().min(1),
    memberType: z.enum(['user', 'group']),
    present: z.boolean(),
    version: z.string(),
  }),
]);

export const runRefSchema = z.object({
  tenantId: z.string().min(1),
  runId: z.string().min(1),
  runKey: z.string().min(1),
});
export type RunRef = z.infer<typeof runRefSchema>;

/** One partition's worth of changes; inline (deflated when large), or in Blob Storage when too large (claim check). */
export const directoryChunkSchema = runRefSchema.extend({
  type: z.literal('directory-chunk'),
  chunkIndex: z.number().int().min(0),
  /**
   * `users:<bucket>`: users and their memberships in that bucket (`users:3+17+42`: in these buckets,
   * an incremental round's small partitions packed together); `groups`: group objects and
   * group-in-group memberships.
   */
  partition: z.string().regex(/^(users:\d+(\+\d+)*|groups)$/),
  /** The tenant had never been synced when the round started: nothing to read, rows to create. */
  fresh: z.boolean().default(false),
  /** The SYNC_BUCKETS its partition was cut under: a reconciler configured otherwise refuses it. */
  buckets: z.number().int().min(1).optional(),
  changes: z.array(directoryChangeSchema).optional(),
  /** The changes' JSON, raw-deflated and base64-encoded (too large for the message as it is: chunkPayload). */
  changesDeflated: z.string().min(1).optional(),
  /** Claim check: the changes are in these blobs (in order). */
  blobNames: z.array(z.string()).optional(),
  /** Re-plan the whole partition from the mirror (a settings change), with the chunk's changes if any. */
  replan: z.boolean().optional(),
});
export type DirectoryChunk = z.infer<typeof directoryChunkSchema>;

export const outcomeCountsSchema = z.partialRecord(z.enum(RUN_OUTCOMES), z.number().int().min(0));
export type OutcomeCounts = Partial<Record<(typeof RUN_OUTCOMES)[number], number>>;

export const writeCountsSchema = z.object({
  directoryWrites: z.number().int().min(0),
  bookkeepingWrites: z.number().int().min(0),
  transactions: z.number().int().min(0),
});
export type WriteCounts = z.infer<typeof writeCountsSchema>;

/**
 * `run-events`: the fetcher's end of a round (`fetch-done`), then `check` messages that poll, with a
 * delay, until every chunk of the run has reported; chunks report by writing a row (no contention),
 * and a small run's chunks also say so here (`chunk-applied`), so its last one completes it at once.
 */
export const runEventSchema = z.discriminatedUnion('type', [
  runRefSchema.extend({
    type: z.literal('fetch-done'),
    chunksTotal: z.number().int().min(0),
    graphRequests: z.number().int().min(0),
    writes: writeCountsSchema,
    errors: z.number().int().min(0),
  }),
  runRefSchema.extend({ type: z.literal('check'), attempt: z.number().int().min(0) }),
  /**
   * A chunk of a small run is in (its fetch done): check now rather than at the next check. One that
   * finds the run still waiting sends nothing; the fetch-done's own checks go on.
   */
  runRefSchema.extend({ type: z.literal('chunk-applied') }),
]);
export type RunEvent = z.infer<typeof runEventSchema>;

/** What one chunk reports to its run (a row in `runChunks`). */
export interface ChunkReport {
  readonly chunkIndex: number;
  readonly counts: OutcomeCounts;
  readonly writes: WriteCounts;
  readonly errors: number;
}

/** `photo-requests`: a photo pass for one tenant (after a full run, or on the policy's photo schedule). */
export const photoPassRequestSchema = z.object({
  type: z.literal('photo-pass'),
  tenantId: z.string().min(1),
  reason: z.enum(['full-run', 'schedule', 'manual']),
  requestedAt: z.string(),
});
export type PhotoPassRequest = z.infer<typeof photoPassRequestSchema>;

/** `security-attribute-requests`: a custom-security-attribute pass for one tenant. */
export const securityAttributePassRequestSchema = z.object({
  type: z.literal('security-attribute-pass'),
  tenantId: z.string().min(1),
  reason: z.enum(['full-run', 'schedule', 'manual']),
  requestedAt: z.string(),
});
export type SecurityAttributePassRequest = z.infer<typeof securityAttributePassRequestSchema>;
