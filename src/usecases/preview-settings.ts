import type { TransactionAction } from '@azure/data-tables';

import { mirrorUserFromRow, personFromRow } from '../adapters/storage/directory-rows.js';
import { TABLES } from '../adapters/storage/storage-names.js';
import type { Row } from '../adapters/storage/table-gateway.js';
import { bucketPartition } from '../domain/bucket.js';
import type { ConnectionSettings } from '../domain/connection-settings.js';
import type { MirrorUser } from '../domain/directory.js';
import { decideGate, type GateDecision } from '../domain/guard.js';
import { directoryExtensionsOf } from '../domain/mirrored-properties.js';
import { type FieldValue, valueOf } from '../domain/person.js';
import { teamIdFor } from '../domain/person-id.js';
import type { Outcome } from '../domain/person-plan.js';
import { isOutOfDirectory, PERSON_STATUSES, type PersonStatus } from '../domain/person-status.js';
import { isSyncedGroup } from '../domain/team-membership.js';
import { forEachConcurrently } from '../shared/concurrency.js';
import type { ApiDeps } from './api-deps.js';
import { type ApiResult, ok, refuse } from './api-result.js';
import { checkSettings } from './manage-settings.js';
import { type ChangeEntry, linkedPersonId, loadPlanContext, projectBucket } from './project-people.js';

/**
 * What saving a settings document would do, before it is saved: every user of the mirror planned
 * under the proposed policy exactly as a save's re-projection plans them (project-people.ts, the
 * gate letting everything through), against today's directory, with nothing written and no Graph
 * request. Counts per change kind and a sample of each with the rule that decided it; the teams
 * that group sync would create, archive or bring back.
 */
export const PREVIEW_KINDS = [
  'created',
  'updated',
  'deactivated',
  'removed',
  'reactivated',
  'conflicted',
  'disputed',
  'failed',
  'unchanged',
] as const satisfies readonly Outcome[];
export type PreviewKind = (typeof PREVIEW_KINDS)[number];

export interface FieldChange {
  readonly field: string;
  readonly from: FieldValue;
  readonly to: FieldValue;
}

export interface PreviewSample {
  readonly userId: string;
  readonly personId: string | null;
  readonly displayName: string | null;
  /** The rule that decided it, in words (as the person's history will say). */
  readonly rule: string;
  /** What it changes, from → to (the status of a leaver or a returner first). */
  readonly changes?: readonly FieldChange[];
}

export interface TeamSample {
  readonly groupId: string;
  readonly teamId: string;
  readonly name: string | null;
}

export interface SettingsPreview {
  readonly tenantId: string;
  /** The saved version the proposal is compared with. */
  readonly basedOnVersion: number;
  readonly counts: Record<PreviewKind, number>;
  /** Up to `SAMPLES_PER_KIND` of each kind (unchanged people are counted, not sampled). */
  readonly samples: Partial<Record<PreviewKind, PreviewSample[]>>;
  /** People with a problem the run would log (a value that cannot be coerced, a merge conflict). */
  readonly errors: number;
  /**
   * What the gate (guard.ts) would decide over the re-projection a save starts, under the proposed
   * `policy.gate`: `pass`, or `hold` (review mode, or the deletion guard) with the threshold it crosses.
   */
  readonly gate: GateDecision & { readonly destructive: number; readonly directorySize: number };
  /** Entra-synced teams whose row group sync would create, archive or bring back. */
  readonly teams: {
    readonly counts: { readonly created: number; readonly archived: number; readonly reactivated: number };
    readonly samples: {
      readonly created: TeamSample[];
      readonly archived: TeamSample[];
      readonly reactivated: TeamSample[];
    };
  };
  readonly usersPlanned: number;
  readonly notes: string[];
}

export const SAMPLES_PER_KIND = 20;
/** Buckets read at once (each: its mirror and people partitions). */
const BUCKETS_IN_FLIGHT = 4;

const STATUS_KINDS: ReadonlySet<string> = new Set(['deactivated', 'removed', 'reactivated']);

/**
 * The diff a save of `document` (parsed with the connection settings schema, checked here as a save
 * checks it: 400 with field paths) would apply now.
 */
export async function previewSettings(
  deps: ApiDeps,
  tenantId: string,
  document: ConnectionSettings,
): Promise<ApiResult<SettingsPreview>> {
  const { pipeline } = deps;
  const connection = await pipeline.connections.get(tenantId);
  if (!connection) return refuse(404, `no connection for tenant ${tenantId}`);
  const issues = await checkSettings(deps, tenantId, document);
  if (issues.length > 0) return refuse(400, 'invalid settings', { issues });

  const { tables } = pipeline;
  const policy = document.policy;
  const groups = await pipeline.groupGraph.load(tenantId);
  const now = pipeline.now().toISOString();
  const ctx = await loadPlanContext(tables, { policy, groups }, tenantId, 'preview', now);

  const counts = Object.fromEntries(PREVIEW_KINDS.map((kind) => [kind, 0])) as Record<PreviewKind, number>;
  const samples: Partial<Record<PreviewKind, PreviewSample[]>> = {};
  let errors = 0;
  let usersPlanned = 0;
  let directorySize = 0;
  const buckets = Array.from({ length: pipeline.buckets }, (_, bucket) => bucket);
  await forEachConcurrently(buckets, BUCKETS_IN_FLIGHT, async (bucket) => {
    const pk = bucketPartition(tenantId, bucket);
    const [mirrorRows, peopleRows] = await Promise.all([
      tables.listPartition(TABLES.dirUsers, pk),
      tables.listPartition(TABLES.people, pk),
    ]);
    const users = mirrorRows.map((row) => mirrorUserFromRow(row));
    const personIds = new Map(
      mirrorRows.map((row) => [row.rowKey, linkedPersonId(tenantId, row.rowKey, row)]),
    );
    const personRows = new Map(peopleRows.map((row) => [row.rowKey, row]));
    // Planned as a save's re-projection plans them, the gate letting everything through; the
    // projection only reads (matching included) and its writes are dropped here.
    const projection = await projectBucket(tables, {
      ctx,
      bucket,
      buckets: pipeline.buckets,
      source: 'preview',
      users,
      personIds,
      personRows,
      assumeEmpty: false,
      allowDestructive: true,
      holdAll: false,
    });
    usersPlanned += users.length;
    directorySize += peopleRows.filter((row) => inDirectory(row.status)).length;
    errors += new Set(projection.errors.map((e) => e.objectId)).size;
    for (const kind of PREVIEW_KINDS) counts[kind] += projection.counts[kind] ?? 0;
    const usersById = new Map(users.map((u) => [u.id, u]));
    const written = writtenRows(projection.actions);
    for (const entry of projection.entries) {
      if (!isPreviewKind(entry.outcome) || entry.outcome === 'unchanged') continue;
      const list = (samples[entry.outcome] ??= []);
      if (list.length >= SAMPLES_PER_KIND) continue;
      list.push(sampleOf(entry, usersById.get(entry.userId), personRows, written));
    }
  });
  // Buckets finish in any order: the samples are the first users of each kind by id, whatever the timing.
  for (const list of Object.values(samples)) list.sort((a, b) => a.userId.localeCompare(b.userId));

  // The gate sees what the run's chunks hold: the destructive changes; in review mode every change.
  const destructive = counts.deactivated + counts.removed;
  const other = policy.gate.review
    ? counts.created + counts.updated + counts.reactivated + counts.conflicted
    : 0;
  const gate = {
    ...decideGate({ destructive, other, directorySize }, policy.gate),
    destructive,
    directorySize,
  };
  const teams = await previewTeams(deps, tenantId, document, groups);
  const notes = [
    "The managers rule's link corrections (a manager linked or unlinked because someone enters or " +
      'leaves the directory) are applied after the run and are not part of this diff; they are not ' +
      'counted as updates by the run either.',
  ];
  const before = new Set(directoryExtensionsOf(connection.settings.policy));
  const newExtensions = directoryExtensionsOf(policy).filter((name) => !before.has(name));
  if (newExtensions.length > 0) {
    notes.push(
      `The mirror does not hold ${newExtensions.join(', ')} yet: this preview reads them as empty, ` +
        'and saving runs a full round with Graph (which reads them) instead of a re-projection.',
    );
  }
  return ok({
    tenantId,
    basedOnVersion: connection.settings.version,
    counts,
    samples,
    errors,
    gate,
    teams,
    usersPlanned,
    notes,
  });
}

function inDirectory(status: unknown): boolean {
  return (
    typeof status === 'string' &&
    (PERSON_STATUSES as readonly string[]).includes(status) &&
    !isOutOfDirectory(status as PersonStatus)
  );
}

function isPreviewKind(outcome: Outcome): outcome is PreviewKind {
  return (PREVIEW_KINDS as readonly string[]).includes(outcome);
}

/** The people rows the projection would write in the bucket's own partition, by person id. */
function writtenRows(actions: readonly TransactionAction[]): Map<string, Row> {
  const rows = new Map<string, Row>();
  for (const action of actions) {
    const entity = action[1] as Row;
    rows.set(entity.rowKey, entity);
  }
  return rows;
}

function sampleOf(
  entry: ChangeEntry,
  user: MirrorUser | undefined,
  before: ReadonlyMap<string, Row>,
  written: ReadonlyMap<string, Row>,
): PreviewSample {
  const personId = entry.personId ?? null;
  const after = personId ? written.get(personId) : undefined;
  const previous = personId ? before.get(personId) : undefined;
  const next = after ? personFromRow(after).person : undefined;
  const current = previous ? personFromRow(previous).person : undefined;
  const changes: FieldChange[] = [];
  if (next && STATUS_KINDS.has(entry.outcome) && current && current.status !== next.status) {
    changes.push({ field: 'status', from: current.status, to: next.status });
  }
  const last = next?.history.at(-1);
  if (last && last.runId === 'preview' && last.changes) {
    changes.push(...last.changes.map((c) => ({ field: c.key, from: c.from, to: c.to })));
  } else if (entry.fields) {
    // A person of another partition (linked by matching): its writes are not at hand, only its fields.
    const of = next ?? current;
    changes.push(...entry.fields.map((field) => ({ field, from: null, to: of ? valueOf(of, field) : null })));
  }
  return {
    userId: entry.userId,
    personId,
    displayName: next?.displayName ?? current?.displayName ?? user?.facts?.displayName ?? null,
    rule: entry.rule,
    ...(changes.length > 0 ? { changes } : {}),
  };
}

/**
 * The Entra-synced teams a save would change: group sync makes a group's team when it is synced,
 * archives it when it no longer is (or its group is deleted), and brings an archived one back.
 */
async function previewTeams(
  deps: ApiDeps,
  tenantId: string,
  document: ConnectionSettings,
  groups: { readonly alive: ReadonlySet<string>; readonly deleted: ReadonlySet<string> },
): Promise<SettingsPreview['teams']> {
  const rows = await deps.pipeline.tables.listPartition(TABLES.teams, tenantId, {
    select: ['RowKey', 'name', 'status', 'origin'],
  });
  const teamRows = new Map(rows.map((row) => [row.rowKey, row]));
  const result = {
    counts: { created: 0, archived: 0, reactivated: 0 },
    samples: { created: [] as TeamSample[], archived: [] as TeamSample[], reactivated: [] as TeamSample[] },
  };
  const note = (kind: 'created' | 'archived' | 'reactivated', sample: TeamSample): void => {
    result.counts[kind] += 1;
    if (result.samples[kind].length < SAMPLES_PER_KIND) result.samples[kind].push(sample);
  };
  for (const groupId of [...new Set([...groups.alive, ...groups.deleted])].sort()) {
    const teamId = teamIdFor(tenantId, groupId);
    const row = teamRows.get(teamId);
    const synced = isSyncedGroup(document.policy.teams, groupId);
    const status = groups.deleted.has(groupId) || !synced ? 'archived' : 'active';
    const name = typeof row?.name === 'string' ? row.name : null;
    if (!row) {
      if (synced) note('created', { groupId, teamId, name });
    } else if (row.status !== status) {
      note(status === 'archived' ? 'archived' : 'reactivated', { groupId, teamId, name });
    }
  }
  return result;
}
