import { odata, type TransactionAction } from '@azure/data-tables';

import { personFromRow, personToRow } from '../adapters/storage/directory-rows.js';
import { type Dispute, DisputeStore } from '../adapters/storage/dispute-store.js';
import { EmailIndexStore } from '../adapters/storage/email-index-store.js';
import type { TenantGroups } from '../adapters/storage/group-graph-store.js';
import { type ManagerEntry, WITHOUT_PERSON } from '../adapters/storage/manager-index.js';
import { PersonHistoryStore, splitHistory } from '../adapters/storage/person-history-store.js';
import type { RunError } from '../adapters/storage/run-store.js';
import { TABLES } from '../adapters/storage/storage-names.js';
import { type Row, type TableGateway } from '../adapters/storage/table-gateway.js';
import { checkEntity, TableLimitError } from '../adapters/storage/table-limits.js';
import { bucketPartition, personBucketOf } from '../domain/bucket.js';
import { CUSTOM_PROPERTY_TYPES, type CustomPropertyType } from '../domain/coerce.js';
import type { MirrorUser } from '../domain/directory.js';
import { descendantsOf } from '../domain/group-closure.js';
import { assignMatches, type MatchDecision, matchKeysOf } from '../domain/matching.js';
import type { PersonRecord } from '../domain/person.js';
import type { FeedEvent } from '../domain/person-events.js';
import { personIdFor, teamIdFor } from '../domain/person-id.js';
import { type Outcome, type PersonDecision, type PlanContext, planPerson } from '../domain/person-plan.js';
import { isOutOfDirectory } from '../domain/person-status.js';
import type { Policy } from '../domain/policy.js';
import { decideScope } from '../domain/scope.js';
import { parseUserFilter } from '../domain/user-filter.js';
import { type CarriedOutbox, personChange, replayedRow, writtenByRun } from './event-outbox.js';

/**
 * Plan → apply for the people of one bucket: the planner (person-plan.ts, pure) decides each user's
 * person from the mirror, the policy and the app's current directory; matching links a new user to
 * a person the app made (or a rehire candidate) by email, or opens a dispute; the decisions become
 * ETag'd writes. A decision that takes a person out of the directory is held (not written) unless
 * `allowDestructive`: the gate applies it once the run's whole change set is known.
 */
export interface ChangeEntry {
  readonly userId: string;
  readonly personId: string | undefined;
  readonly outcome: Outcome;
  readonly rule: string;
  readonly held?: true;
  readonly fields?: readonly string[];
}

/** A change the planner decided and the gate holds (a user's, by the outcome it would have had). */
export interface HeldChange {
  readonly userId: string;
  readonly personId: string | undefined;
  readonly outcome: Outcome;
  readonly rule: string;
}

export interface BucketProjection {
  /** Writes of the bucket's own people partition (batch transactions). */
  readonly actions: TransactionAction[];
  /** Writes elsewhere (a matched person's row in its own partition, the email index, disputes). */
  readonly sideWrites: (() => Promise<void>)[];
  /** The mirror link (user → person) to store on the user's mirror row, when it changes. */
  readonly links: Map<string, string>;
  readonly entries: ChangeEntry[];
  readonly held: HeldChange[];
  readonly counts: Record<string, number>;
  readonly errors: RunError[];
  /** Users whose person could not be written (a row over Table Storage's limits). */
  readonly refused: Set<string>;
  /** The managers index's entries of the planned users, as their people now are (null: no person). */
  readonly managers: Map<string, ManagerEntry | null>;
  /** The app's events of these writes (event-outbox.ts): into the feed after the people writes… */
  readonly events: FeedEvent[];
  /** …and the outboxes of the previous changes of the people written, into the feed again before them. */
  readonly carried: CarriedOutbox[];
  /** Unchanged rows whose outbox this run wrote: the feed is checked for their events (a redo). */
  readonly replayed: Row[];
}

/** Reads the policy, the custom property types and the groups, and compiles them for the planner. */
export async function loadPlanContext(
  tables: TableGateway,
  sources: { policy: Policy; groups: TenantGroups },
  tenantId: string,
  runId: string,
  now: string,
): Promise<PlanContext> {
  const { policy, groups } = sources;
  const parsed = policy.scope.filter ? parseUserFilter(policy.scope.filter) : undefined;
  const customTypes = new Map<string, CustomPropertyType>();
  if (policy.mappings.some((m) => 'customProperty' in m.target)) {
    const rows = await tables.listPartition(TABLES.customProperties, tenantId);
    for (const row of rows) {
      const type = String(row.type);
      if ((CUSTOM_PROPERTY_TYPES as readonly string[]).includes(type)) {
        customTypes.set(row.rowKey, type as CustomPropertyType);
      }
    }
  }
  return {
    tenantId,
    runId,
    now,
    policy,
    customTypes,
    scope: {
      policy,
      deletedGroups: groups.deleted,
      scopeGroups:
        policy.scope.groups.length > 0 ? descendantsOf(groups.children, policy.scope.groups) : null,
      // A filter that no longer parses (saved before a stricter release) keeps everyone out: safer
      // than letting everyone in. Saving refuses it.
      filter: parsed ? (parsed.ok ? parsed.filter : NOTHING) : null,
    },
    teams: {
      teams: policy.teams,
      deletedGroups: groups.deleted,
      parents: groups.parents,
      teamIdForGroup: (groupId) => teamIdFor(tenantId, groupId),
    },
  };
}

const NOTHING = (() => {
  const parsed = parseUserFilter(
    "id eq '00000000-0000-0000-0000-000000000000' and id ne '00000000-0000-0000-0000-000000000000'",
  );
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.filter;
})();

/** The person a user is linked to: the mirror's link, else the one derived from its object id. */
export function linkedPersonId(tenantId: string, userId: string, mirrorRow: Row | undefined): string {
  const link = mirrorRow?.personId;
  return typeof link === 'string' && link !== '' ? link : personIdFor(tenantId, userId);
}

export interface ProjectInput {
  readonly ctx: PlanContext;
  readonly bucket: number;
  /** SYNC_BUCKETS: a person's partition is the bucket of its id. */
  readonly buckets: number;
  readonly source: string;
  readonly users: readonly MirrorUser[];
  /** user id → linked person id. */
  readonly personIds: ReadonlyMap<string, string>;
  /** The people rows already read (by person id); others are read here when needed. */
  readonly personRows: ReadonlyMap<string, Row>;
  /** Nothing exists yet (a tenant's first round): no reads. */
  readonly assumeEmpty: boolean;
  readonly allowDestructive: boolean;
  /** Review mode: every change is held for the gate (nothing is written but the mirror). */
  readonly holdAll?: boolean;
}

export async function projectBucket(tables: TableGateway, input: ProjectInput): Promise<BucketProjection> {
  const { ctx, bucket, source } = input;
  const tenantId = ctx.tenantId;
  const pk = bucketPartition(tenantId, bucket);
  const out: BucketProjection = {
    actions: [],
    sideWrites: [],
    links: new Map(),
    entries: [],
    held: [],
    counts: {},
    errors: [],
    refused: new Set(),
    events: [],
    carried: [],
    replayed: [],
    managers: new Map(),
  };
  const count = (outcome: Outcome): void => {
    out.counts[outcome] = (out.counts[outcome] ?? 0) + 1;
  };

  // 1. Each user's person as stored (a person of another partition is read on its own).
  const existing = new Map<
    string,
    { person: PersonRecord; etag: string | undefined; pk: string; row?: Row }
  >();
  for (const user of input.users) {
    const personId = input.personIds.get(user.id)!;
    const personPk = bucketPartition(tenantId, personBucketOf(personId, input.buckets));
    let row = input.personRows.get(personId);
    if (!row && !input.assumeEmpty && personPk !== pk)
      row = await tables.get(TABLES.people, personPk, personId);
    if (row) {
      const stored = personFromRow(row);
      if (stored.person.sourceObjectId === user.id) existing.set(user.id, { ...stored, pk: personPk, row });
    }
  }

  // 2. Matching: a new user in scope may be a person the app made, or a rehire.
  const unmatched = input.users.filter(
    (u) => !existing.has(u.id) && u.facts && !u.deleted && decideScope(u, ctx.scope).inScope,
  );
  const matches: Map<string, Match> =
    unmatched.length > 0
      ? await matchUsers(tables, tenantId, unmatched, input.buckets)
      : new Map<string, Match>();

  // 3. Plan, then turn each decision into writes.
  for (const user of input.users) {
    const match: Match | undefined = matches.get(user.id);
    let decision: PersonDecision;
    let current = existing.get(user.id);
    if (match?.kind === 'dispute') {
      decision = {
        outcome: 'disputed',
        person: undefined,
        rule: `matching: ${match.candidates.length} people could be this user (${match.candidates.join(', ')}): an admin decides`,
        destructive: false,
        errors: [],
        conflicts: [],
      };
      if (!match.known) out.sideWrites.push(() => openDispute(tables, ctx, user, match.candidates));
    } else if (match?.kind === 'link') {
      current = match.person;
      decision = planPerson(ctx, user, match.person.person, { rule: match.rule });
      if (decision.outcome === 'skipped' || decision.outcome === 'failed') current = undefined;
    } else {
      decision = planPerson(ctx, user, current?.person);
    }
    if (decision.outcome === 'skipped') {
      // Nothing to do for someone out of scope with no person: not even worth a line in the change set.
      out.managers.set(user.id, indexEntryOf(undefined, user));
      continue;
    }
    for (const error of decision.errors) {
      out.errors.push({
        category: error.category,
        objectId: user.id,
        message: error.message,
        source,
      });
    }
    const person = decision.person;
    const changes = !['unchanged', 'failed', 'disputed'].includes(decision.outcome);
    if ((decision.destructive && !input.allowDestructive) || (input.holdAll === true && changes)) {
      out.held.push({
        userId: user.id,
        personId: person?.personId,
        outcome: decision.outcome,
        rule: decision.rule,
      });
      out.entries.push({
        userId: user.id,
        personId: person?.personId,
        outcome: decision.outcome,
        rule: decision.rule,
        held: true,
      });
      out.managers.set(user.id, indexEntryOf(current?.person, user));
      continue;
    }
    const writes = person !== undefined && person !== current?.person;
    const replayed = writes ? undefined : replayedRow(current?.row);
    if (replayed) out.replayed.push(replayed);
    if (writes) {
      const change = personChange(ctx.runId, current?.row, current?.person, person);
      const row = rowOf(
        person,
        current?.pk ?? pkOf(tenantId, person.personId, input),
        out,
        user.id,
        source,
        change.columns,
      );
      if (!row) {
        out.refused.add(user.id);
        out.managers.set(user.id, indexEntryOf(current?.person, user));
        count('failed');
        continue;
      }
      out.events.push(...change.events);
      out.carried.push(change.carried);
      const personPk = row.partitionKey;
      const action: TransactionAction = current?.etag
        ? ['update', row, 'Replace', { etag: current.etag }]
        : ['create', row];
      if (personPk === pk) out.actions.push(action);
      else out.sideWrites.push(() => tables.transact(TABLES.people, [action]));
      if (person.personId !== personIdFor(tenantId, user.id) || match?.kind === 'link') {
        out.links.set(user.id, person.personId);
      }
      if (match?.kind === 'link')
        out.sideWrites.push(() => new EmailIndexStore(tables).remove(tenantId, match.key, person.personId));
      if (person.sourceObjectId === null && current?.person.sourceObjectId) {
        // Unlinked (its user is gone for good): the person is a rehire candidate by its email.
        const email = person.email;
        if (email)
          out.sideWrites.push(() => new EmailIndexStore(tables).add(tenantId, email, person.personId));
      }
      spillHistory(tables, tenantId, person, out);
    }
    out.managers.set(user.id, indexEntryOf(writes ? person : current?.person, user));
    // A run counts each person once: one it already wrote was counted by the message that wrote it.
    if (!writtenByRun(current?.row, ctx.runId)) count(decision.outcome);
    if (decision.outcome !== 'unchanged') {
      out.entries.push({
        userId: user.id,
        personId: person?.personId,
        outcome: decision.outcome,
        rule: decision.rule,
        ...(person?.history.at(-1)?.changes
          ? { fields: person.history.at(-1)!.changes!.map((c) => c.key) }
          : {}),
      });
    }
  }
  return out;
}

/**
 * A user as the managers rule sees it (manager-index.ts): its linked person; or, for a user the mirror
 * knows without a person (out of scope), an entry with no person, so that being someone's manager it is
 * out of scope rather than missing; null for a user the mirror does not know (or deleted for good).
 */
export function indexEntryOf(person: PersonRecord | undefined, user: MirrorUser): ManagerEntry | null {
  const entry = managerEntryOf(person, user.id);
  if (entry) return entry;
  return user.facts && user.deleted !== 'hard' ? WITHOUT_PERSON : null;
}

/** A linked person as the managers rule sees it (manager-index.ts), or null when the user has none. */
export function managerEntryOf(person: PersonRecord | undefined, userId: string): ManagerEntry | null {
  if (!person || person.sourceObjectId !== userId) return null;
  return [
    person.personId,
    isOutOfDirectory(person.status) ? 0 : 1,
    person.entraManagerId,
    person.managerId,
    person.managerProblem,
  ];
}

function pkOf(tenantId: string, personId: string, input: ProjectInput): string {
  return bucketPartition(tenantId, personBucketOf(personId, input.buckets));
}

/** A person's row, or undefined (recorded as the person's failure) when Table Storage would refuse it. */
function rowOf(
  person: PersonRecord,
  pk: string,
  out: BucketProjection,
  objectId: string,
  source: string,
  eventColumns: Record<string, string | number> = {},
): Row | undefined {
  const trimmed = { ...person, history: splitHistory(person.history).onRow };
  const row = { ...personToRow(pk, trimmed), ...eventColumns };
  try {
    checkEntity(TABLES.people, row);
    return row;
  } catch (error) {
    if (!(error instanceof TableLimitError)) throw error;
    out.errors.push({ category: 'storage-limit', objectId, message: error.message, source });
    return undefined;
  }
}

/** History beyond what the row keeps moves to the personHistory table (person-history-store.ts). */
function spillHistory(
  tables: TableGateway,
  tenantId: string,
  person: PersonRecord,
  out: BucketProjection,
): void {
  const { moved } = splitHistory(person.history);
  if (moved.length === 0) return;
  out.sideWrites.push(() => new PersonHistoryStore(tables).append(tenantId, person.personId, moved));
}

type Match =
  | {
      kind: 'link';
      key: string;
      rule: string;
      person: { person: PersonRecord; etag: string | undefined; pk: string; row?: Row };
    }
  | { kind: 'dispute'; candidates: string[]; known?: boolean };

/**
 * The email index (`peopleByEmail`: PartitionKey tenant, RowKey the encoded normalized email,
 * `personIds`) holds the people no Entra user is linked to: made by the app, or whose user was
 * deleted for good. Nothing is read when it is empty (a tenant whose people all come from Entra).
 * A resolved dispute decides for its user: link that person, or create a new one.
 */
async function matchUsers(
  tables: TableGateway,
  tenantId: string,
  users: readonly MirrorUser[],
  buckets: number,
): Promise<Map<string, Match>> {
  const any = await tables.query(
    TABLES.peopleByEmail,
    odata`PartitionKey eq ${tenantId} and personIds ne '[]'`,
    ['RowKey'],
    1,
  );
  const result = new Map<string, Match>();
  if (any.length === 0) return result;
  const requests = users.map((u) => ({ userId: u.id, keys: matchKeysOf(u.facts!) }));
  const keys = [...new Set(requests.flatMap((r) => r.keys))];
  const index = new EmailIndexStore(tables);
  const candidates = new Map<string, string[]>();
  for (const key of keys) {
    const ids = await index.personIds(tenantId, key);
    if (ids.length > 0) candidates.set(key, ids);
  }
  const withCandidates = requests.filter((r) => r.keys.some((k) => candidates.has(k)));
  if (withCandidates.length === 0) return result;
  const disputeStore = new DisputeStore(tables);
  const disputes = new Map<string, Dispute>();
  for (const request of withCandidates) {
    const stored = await disputeStore.get(tenantId, request.userId);
    if (stored) disputes.set(request.userId, stored.dispute);
  }
  const decisions: Map<string, MatchDecision> = assignMatches(withCandidates, candidates);
  for (const [userId, decided] of decisions) {
    let decision = decided;
    const resolution = disputes.get(userId)?.resolution;
    if (resolution?.action === 'create') continue;
    if (resolution?.action === 'link') decision = { kind: 'link', personId: resolution.personId, key: '' };
    if (decision.kind === 'dispute' && disputes.get(userId)?.state === 'open') {
      // Still waiting for an admin: nothing new to record.
      result.set(userId, { kind: 'dispute', candidates: decision.candidates, known: true });
      continue;
    }
    if (decision.kind === 'create') continue;
    if (decision.kind === 'dispute') {
      result.set(userId, { kind: 'dispute', candidates: decision.candidates });
      continue;
    }
    const personPk = bucketPartition(tenantId, personBucketOf(decision.personId, buckets));
    const row = await tables.get(TABLES.people, personPk, decision.personId);
    if (!row) continue;
    const stored = personFromRow(row);
    if (stored.person.sourceObjectId !== null) continue; // linked meanwhile
    result.set(userId, {
      kind: 'link',
      key: decision.key,
      rule: decision.key
        ? `matching: linked by email ${decision.key}`
        : 'matching: linked by an admin (dispute resolved)',
      person: { ...stored, pk: personPk, row },
    });
  }
  return result;
}

async function openDispute(
  tables: TableGateway,
  ctx: PlanContext,
  user: MirrorUser,
  candidates: readonly string[],
): Promise<void> {
  await new DisputeStore(tables).save(ctx.tenantId, {
    id: user.id,
    candidates,
    emails: user.facts ? matchKeysOf(user.facts) : [],
    createdAt: ctx.now,
    runId: ctx.runId,
    state: 'open',
    resolution: null,
  });
}
