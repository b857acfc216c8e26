import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { MirrorUser } from '../../../src/domain/directory.js';
import { type FieldValue, isEmptyValue, sameValue } from '../../../src/domain/merge.js';
import { type PersonRecord, valueOf } from '../../../src/domain/person.js';
import { personIdFor, teamIdFor } from '../../../src/domain/person-id.js';
import { mapUser } from '../../../src/domain/person-mapping.js';
import { type PersonDecision, type PlanContext, planPerson } from '../../../src/domain/person-plan.js';
import { isOutOfDirectory, type PersonStatus } from '../../../src/domain/person-status.js';
import {
  MERGE_STRATEGIES,
  type MergeStrategy,
  PERSON_FIELDS,
  type PolicyInput,
} from '../../../src/domain/policy.js';
import { decideScope } from '../../../src/domain/scope.js';
import { teamsOf } from '../../../src/domain/team-membership.js';
import {
  appEditsArb,
  FIELD_KEYS,
  GROUPS,
  inDirectoryStatusArb,
  inScopeUserArb,
  laterRun,
  MANAGERS,
  membershipsOf,
  PERSON_ID,
  personArb,
  planContextOf,
  plannerUserArb,
  policyInputArb,
  T1,
  T2,
  T3,
  TENANT,
  USER_ID,
  userOf,
  withEdits,
} from './arbitraries.js';

const [G1, G2] = GROUPS;
const [M1, M2] = MANAGERS;
const CTX1 = planContextOf({}, { now: T1, runId: 'run-1' });
const CTX2 = planContextOf({}, { now: T2, runId: 'run-2' });
const CTX3 = planContextOf({}, { now: T3, runId: 'run-3' });

function created(user: MirrorUser = userOf(), ctx: PlanContext = CTX1): PersonRecord {
  const decision = planPerson(ctx, user, undefined);
  if (decision.outcome !== 'created' || !decision.person)
    throw new Error(`expected created, got ${decision.outcome}`);
  return decision.person;
}

function withStatus(person: PersonRecord, status: PersonStatus, previousStatus: PersonStatus | null = null) {
  return { ...person, status, previousStatus };
}

/** The values of every field key a policy may map (built-in and custom). */
function fieldsOf(person: PersonRecord | undefined): Record<string, FieldValue> {
  return person ? Object.fromEntries(FIELD_KEYS.map((key) => [key, valueOf(person, key)])) : {};
}

function show(value: FieldValue): string {
  return value === null ? 'nothing' : JSON.stringify(value);
}

const withStrategy = (policy: PolicyInput, mergeStrategy: MergeStrategy): PolicyInput => ({
  ...policy,
  mergeStrategy,
});

describe('planPerson under the default policy', () => {
  it('creates a person for a new in-scope user: status created, the derived id, the default mapping, its teams', () => {
    const decision = planPerson(CTX1, userOf({ memberships: membershipsOf([G1], [G2]) }), undefined);
    expect(decision).toMatchObject({
      outcome: 'created',
      rule: 'scope: in scope',
      destructive: false,
      errors: [],
    });
    const person = decision.person!;
    expect(person).toMatchObject({
      personId: PERSON_ID,
      origin: 'entra',
      sourceObjectId: USER_ID,
      status: 'created',
      previousStatus: null,
      displayName: 'Adele Vance',
      email: 'adelev@contoso.onmicrosoft.com',
      hireDate: '2020-01-15',
      teams: [teamIdFor(TENANT, G1)],
      createdAt: T1,
      updatedAt: T1,
      history: [{ at: T1, runId: 'run-1', kind: 'created', rule: 'scope: in scope' }],
    });
    // What sync wrote is the base of the next merge.
    for (const field of PERSON_FIELDS) expect(person.synced[field]).toBe(valueOf(person, field));
  });

  it('skips a new user that is out of scope: a guest, an #EXT# account, a disabled or deleted account', () => {
    for (const user of [
      userOf({}, { userType: 'Guest' }),
      userOf({}, { userPrincipalName: 'adele_fabrikam.com#EXT#@contoso.onmicrosoft.com' }),
      userOf({}, { accountEnabled: false }),
      userOf({ deleted: 'soft' }),
      userOf({ deleted: 'hard' }),
    ]) {
      expect(planPerson(CTX1, user, undefined)).toEqual({
        outcome: 'skipped',
        person: undefined,
        rule: decideScope(user, CTX1.scope).rule,
        destructive: false,
        errors: [],
        conflicts: [],
      });
    }
  });

  it('updates the fields of a person whose user changed, keeping its status and creation time, and says what changed', () => {
    const person = withStatus(created(), 'active');
    const decision = planPerson(CTX2, userOf({}, { jobTitle: 'Director' }), person);
    expect(decision.outcome).toBe('updated');
    expect(decision.rule).toBe('mapping: Entra changed jobTitle');
    expect(decision.person).toMatchObject({
      jobTitle: 'Director',
      status: 'active',
      createdAt: T1,
      updatedAt: T2,
    });
    expect(decision.person!.synced.jobTitle).toBe('Director');
    expect(decision.person!.history.at(-1)).toEqual({
      at: T2,
      runId: 'run-2',
      kind: 'updated',
      rule: 'mapping: Entra changed jobTitle',
      changes: [{ key: 'jobTitle', from: 'Retail Manager', to: 'Director' }],
    });
  });

  it('leaves a person unchanged, as it is, when the user maps to the same fields', () => {
    const person = created();
    const decision = planPerson(CTX2, userOf(), person);
    expect(decision.outcome).toBe('unchanged');
    expect(decision.person).toBe(person);
  });

  it('leaves a person as it is while its user is not described by Graph (memberships alone): never a leaver', () => {
    // A chunk of memberships alone can meet the person of a user whose own chunk wrote it and died before
    // writing the user's mirror row: the missing facts say nothing about scope.
    for (const status of ['created', 'invited', 'active'] as const) {
      const person = withStatus(created(userOf({ memberships: membershipsOf([G1]) })), status);
      const decision = planPerson(
        CTX2,
        userOf({ facts: undefined, memberships: membershipsOf([G2]) }),
        person,
      );
      expect(decision.outcome).toBe('unchanged');
      expect(decision.destructive).toBe(false);
      expect(decision.person).toBe(person);
      expect(decision.rule).toBe('scope: not described by Graph yet; the person is left as it is');
    }
  });

  it('deactivates an active person whose user was disabled, with the profile Entra last gave and no teams', () => {
    const person = withStatus(created(userOf({ memberships: membershipsOf([G1]) })), 'active');
    const user = userOf({ memberships: membershipsOf([G1]) }, { accountEnabled: false, jobTitle: 'Changed' });
    const decision = planPerson(CTX2, user, person);
    expect(decision.outcome).toBe('deactivated');
    expect(decision.destructive).toBe(true);
    expect(decision.rule).toBe('scope: account disabled; status: a leaver is deactivated when active');
    expect(decision.person).toEqual({
      ...person,
      jobTitle: 'Changed',
      synced: { ...person.synced, jobTitle: 'Changed' },
      status: 'deactivated',
      previousStatus: 'active',
      teams: [],
      updatedAt: T2,
      history: [...person.history, expect.objectContaining({ kind: 'deactivated', runId: 'run-2' })],
    });
  });

  it('removes a created or invited person whose user was soft-deleted, keeping the profile last known', () => {
    for (const status of ['created', 'invited'] as const) {
      const person = withStatus(created(), status);
      const decision = planPerson(CTX2, userOf({ deleted: 'soft' }, { jobTitle: 'Changed' }), person);
      expect(decision.outcome).toBe('removed');
      expect(decision.person).toMatchObject({
        status: 'removed',
        previousStatus: status,
        jobTitle: 'Retail Manager',
      });
    }
  });

  it('updates the profile of a person already out of the directory (a late change of a leaver), keeping its status', () => {
    const person = withStatus(created(), 'removed', 'created');
    const decision = planPerson(CTX2, userOf({}, { accountEnabled: false, jobTitle: 'Late' }), person);
    expect(decision.outcome).toBe('updated');
    expect(decision.destructive).toBe(false);
    expect(decision.person).toMatchObject({ jobTitle: 'Late', status: 'removed', previousStatus: 'created' });
  });

  it('a leaver whose profile cannot be mapped keeps the profile it has', () => {
    const person = withStatus(created(), 'active');
    const user = userOf({}, { accountEnabled: false, mail: null, userPrincipalName: null });
    const decision = planPerson(CTX2, user, person);
    expect(decision.outcome).toBe('deactivated');
    expect(fieldsOf(decision.person)).toEqual(fieldsOf(person));
  });

  it('reactivates a person whose user was restored, with the status it had and the new fields', () => {
    const person = withStatus(created(), 'deactivated', 'active');
    const decision = planPerson(CTX2, userOf({}, { department: 'Sales' }), person);
    expect(decision.outcome).toBe('reactivated');
    expect(decision.rule).toBe('scope: in scope; status: back to active');
    expect(decision.person).toMatchObject({
      personId: PERSON_ID,
      status: 'active',
      previousStatus: null,
      department: 'Sales',
    });
  });

  it('refuses an in-scope user that cannot be represented, with the reason, keeping the person as it is', () => {
    const person = withStatus(created(), 'active');
    const decision = planPerson(CTX2, userOf({}, { mail: null, userPrincipalName: null }), person);
    expect(decision.outcome).toBe('failed');
    expect(decision.person).toBe(person);
    expect(decision.errors).toEqual([
      { category: 'invalid-data', message: 'the user has neither mail nor userPrincipalName' },
    ]);
    const fresh = planPerson(CTX1, userOf({}, { mail: ' ', userPrincipalName: null }), undefined);
    expect(fresh).toMatchObject({ outcome: 'failed', person: undefined });
    expect(fresh.errors.map((e) => e.category)).toEqual(['invalid-data']);
    expect(fresh.errors[0]?.message).toMatch(/mail/);
  });

  it('leaves a person already out of the directory unchanged while its user stays out of scope', () => {
    const person = withStatus(created(), 'removed', 'created');
    const decision = planPerson(CTX2, userOf({}, { accountEnabled: false }), person);
    expect(decision.outcome).toBe('unchanged');
    expect(decision.person).toBe(person);
  });

  it('a soft delete then a restore within 30 days gives back the same person with its status', () => {
    const active = withStatus(created(), 'active');
    const gone = planPerson(CTX2, userOf({ deleted: 'soft' }), active);
    expect(gone.outcome).toBe('deactivated');
    const back = planPerson(CTX3, userOf(), gone.person);
    expect(back.outcome).toBe('reactivated');
    expect(back.person).toEqual({ ...active, updatedAt: T3, history: back.person!.history });
    expect(back.person!.history.map((entry) => entry.kind)).toEqual([
      'created',
      'deactivated',
      'reactivated',
    ]);
  });

  it('a hard delete unlinks the person (a rehire candidate) and takes it out of the directory', () => {
    const person = withStatus(created(userOf({ managerId: M1 })), 'active');
    const decision = planPerson(CTX2, userOf({ deleted: 'hard', managerId: M1 }), person);
    expect(decision.outcome).toBe('deactivated');
    expect(decision.rule).toMatch(/matching: unlinked/);
    expect(decision.person).toMatchObject({
      sourceObjectId: null,
      formerObjectId: USER_ID,
      managerId: null,
      entraManagerId: null,
      status: 'deactivated',
    });
  });

  it("links the manager to the manager's person, follows Entra's changes, and keeps the managers rule's correction otherwise", () => {
    const person = created(userOf({ managerId: M1 }));
    expect(person).toMatchObject({ managerId: personIdFor(TENANT, M1), entraManagerId: M1 });
    const corrected = { ...person, managerId: null, managerProblem: 'manager-out-of-scope' };
    expect(planPerson(CTX2, userOf({ managerId: M1 }), corrected).outcome).toBe('unchanged');
    const moved = planPerson(CTX2, userOf({ managerId: M2 }), corrected);
    expect(moved.outcome).toBe('updated');
    expect(moved.person).toMatchObject({ managerId: personIdFor(TENANT, M2), entraManagerId: M2 });
    expect(planPerson(CTX2, userOf({ managerId: null }), person).person).toMatchObject({
      managerId: null,
      entraManagerId: null,
    });
  });

  it('links a person the app made to the user matching chose, with the rule of the match', () => {
    const handMade: PersonRecord = {
      ...created(),
      personId: 'hand-made',
      origin: 'app',
      sourceObjectId: null,
      jobTitle: 'Chief of Vibes',
      synced: {},
      history: [],
    };
    const linking = { rule: 'matching: linked by email adelev@contoso.onmicrosoft.com' };
    const entraWins = planPerson(CTX2, userOf(), handMade, linking);
    expect(entraWins).toMatchObject({ outcome: 'updated', rule: linking.rule });
    expect(entraWins.person).toMatchObject({
      personId: 'hand-made',
      sourceObjectId: USER_ID,
      jobTitle: 'Retail Manager',
    });
    const appWins = planPerson(planContextOf({ mergeStrategy: 'app-wins' }), userOf(), handMade, linking);
    expect(appWins.person).toMatchObject({ sourceObjectId: USER_ID, jobTitle: 'Chief of Vibes' });
    // Without the match, a person linked to nobody is not this user's.
    expect(planPerson(CTX2, userOf(), handMade).person?.personId).toBe(PERSON_ID);
  });

  it('skip-conflicts: a hand-made person linked with a conflict keeps it on the next runs, never overwritten silently', () => {
    const ctx = planContextOf({ mergeStrategy: 'skip-conflicts' });
    const handMade: PersonRecord = {
      ...created(),
      personId: 'hand-made',
      origin: 'app',
      sourceObjectId: null,
      employeeId: 'E200',
      synced: {},
    };
    const linked = planPerson(ctx, userOf(), handMade, { rule: 'matching: by email' });
    expect(linked.outcome).toBe('updated');
    expect(linked.person).toMatchObject({ sourceObjectId: USER_ID, employeeId: 'E200' });
    expect(linked.conflicts).toEqual([{ key: 'employeeId', app: 'E200', entra: 'E100', base: null }]);
    const next = planPerson(laterRun(ctx, T3), userOf(), linked.person);
    expect(next.outcome).toBe('conflicted');
    expect(next.person).toBe(linked.person);
    expect(next.conflicts).toEqual(linked.conflicts);
  });

  it('a custom value that cannot be coerced is invalid-data for that field; the person is created with the rest', () => {
    const ctx = planContextOf({
      mappings: [
        {
          source: 'onPremisesExtensionAttributes.extensionAttribute1',
          target: { customProperty: 'costCenter' },
        },
        { source: 'onPremisesExtensionAttributes.extensionAttribute2', target: { customProperty: 'remote' } },
      ],
    });
    const user = userOf(
      {},
      { onPremisesExtensionAttributes: { extensionAttribute1: 'twelve', extensionAttribute2: 'yes' } },
    );
    const decision = planPerson(ctx, user, undefined);
    expect(decision.outcome).toBe('created');
    expect(decision.errors.map(({ category, field }) => ({ category, field }))).toEqual([
      { category: 'invalid-data', field: 'custom.costCenter' },
    ]);
    expect(decision.errors[0]?.message).toMatch(
      /^custom\.costCenter: onPremisesExtensionAttributes\.extensionAttribute1: .*"twelve"/,
    );
    expect(decision.person!.custom).toEqual({ remote: true });
    expect(decision.person!.jobTitle).toBe('Retail Manager');
  });

  it('a new mapping whose value the person already has moves only the merge base: unchanged, written without a history entry', () => {
    const person = created();
    const ctx = planContextOf(
      {
        mappings: [
          {
            source: 'onPremisesExtensionAttributes.extensionAttribute1',
            target: { customProperty: 'costCenter' },
          },
        ],
      },
      { now: T2, runId: 'run-2' },
    );
    const decision = planPerson(ctx, userOf(), person);
    expect(decision.outcome).toBe('unchanged');
    expect(decision.person).not.toBe(person);
    expect(decision.person).toEqual({
      ...person,
      custom: { costCenter: null },
      synced: { ...person.synced, 'custom.costCenter': null },
    });
    // Planned again with what was written: nothing to write at all.
    expect(planPerson(ctx, userOf(), decision.person).person).toBe(decision.person);
  });
});

// --- Properties ---------------------------------------------------------------------------------------

const RUNS = 400;
/** A user any way Graph may describe it, except deleted for good (that unlinks: its own properties). */
const notHardDeletedArb = plannerUserArb().filter((user) => user.deleted !== 'hard');

/** The person sync created from `first`, then edited by the app (values and status). */
const editedPersonArb = fc.record({
  first: inScopeUserArb(),
  edits: appEditsArb,
  status: inDirectoryStatusArb,
});

function createdUnder(
  ctx: PlanContext,
  first: MirrorUser,
  edits: Record<string, FieldValue>,
  status: PersonStatus,
) {
  const decision = planPerson(ctx, first, undefined);
  if (!decision.person) return undefined;
  return withEdits({ ...decision.person, status }, edits);
}

/** Keys the app edited: sync wrote them, and the app's value is not what sync wrote. */
function appEditedKeys(person: PersonRecord): string[] {
  return FIELD_KEYS.filter(
    (key) => key in person.synced && !sameValue(valueOf(person, key), person.synced[key]!),
  );
}

describe('planPerson properties', () => {
  it('planning is idempotent: planning again with the decided person as existing changes nothing (every strategy, random users and app edits)', () => {
    fc.assert(
      fc.property(
        policyInputArb,
        notHardDeletedArb,
        fc.option(personArb(), { nil: undefined, freq: 4 }),
        appEditsArb,
        fc.boolean(),
        (policy, user, existing, edits, link) => {
          const ctx = planContextOf(policy, { now: T2 });
          // Sometimes the person is one the app made, and matching links it now.
          const before =
            existing && withEdits(link ? { ...existing, sourceObjectId: null } : existing, edits);
          const linking = before && link ? { rule: 'matching: by email' } : undefined;
          const first = planPerson(ctx, user, before, linking);
          if (linking && (first.outcome === 'failed' || first.outcome === 'skipped')) return; // no link made
          let settled = first;
          // skip-conflicts, linking a hand-made person: an on-create field is written (and may conflict)
          // only at the link. If it did, the next run no longer writes it, so the person converges one
          // run later: the app's conflicting values stay, the rest is merged once.
          const mapped = mapUser(user, ctx.policy, ctx.customTypes);
          const whenOf = (key: string | undefined) =>
            mapped.ok ? mapped.mapped.fields.find((f) => f.key === key)?.when : undefined;
          const conflictErrors = first.errors.filter((e) => e.category === 'merge-conflict');
          if (linking && conflictErrors.some((e) => whenOf(e.field) === 'on-create')) {
            settled = planPerson(laterRun(ctx, T3), user, first.person);
            for (const c of first.conflicts) expect(valueOf(settled.person!, c.key)).toEqual(c.app);
          }
          const second = planPerson(laterRun(ctx, '2025-01-04T00:00:00.000Z'), user, settled.person);
          expect(second.person).toEqual(settled.person);
          expect(second.destructive).toBe(false);
          const conflicting = second.errors.some((e) => e.category === 'merge-conflict');
          expect(conflicting).toBe(settled.errors.some((e) => e.category === 'merge-conflict'));
          if (!first.person || first.outcome === 'failed') expect(second.outcome).toBe(first.outcome);
          else expect(second.outcome).toBe(conflicting ? 'conflicted' : 'unchanged');
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('app-wins never changes a field the app edited, across any sequence of Entra changes', () => {
    let edited = 0;
    fc.assert(
      fc.property(
        policyInputArb,
        editedPersonArb,
        fc.array(plannerUserArb(), { minLength: 1, maxLength: 4 }),
        (policy, { first, edits, status }, changes) => {
          const ctx = planContextOf(withStrategy(policy, 'app-wins'));
          let person = createdUnder(ctx, first, edits, status);
          if (!person) return;
          const keys = appEditedKeys(person);
          const appValues = fieldsOf(person);
          edited += keys.length;
          for (const user of changes) {
            const decision = planPerson(laterRun(ctx, T2), user, person);
            if (!decision.person) break;
            for (const key of keys) expect(valueOf(decision.person, key), key).toEqual(appValues[key]);
            if (decision.person.sourceObjectId !== USER_ID) break; // hard-deleted: unlinked
            person = decision.person;
          }
        },
      ),
      { numRuns: RUNS },
    );
    expect(edited).toBeGreaterThan(RUNS / 2);
  });

  it('skip-conflicts never writes a field of a person with a conflict: outcome conflicted, fields unchanged, errors name both values', () => {
    let conflicted = 0;
    fc.assert(
      fc.property(
        policyInputArb,
        editedPersonArb,
        plannerUserArb(),
        (policy, { first, edits, status }, user) => {
          const ctx = planContextOf(withStrategy(policy, 'skip-conflicts'));
          const person = createdUnder(ctx, first, edits, status);
          if (!person) return;
          const decision = planPerson(laterRun(ctx, T2), user, person);
          // The oracle: a conflict is a field the rule writes, the app changed, and Entra changed otherwise.
          const mapped = user.facts && !user.deleted ? mapUser(user, ctx.policy, ctx.customTypes) : undefined;
          const inScope = decideScope(user, ctx.scope).inScope;
          const expected =
            mapped?.ok === true
              ? mapped.mapped.fields
                  .filter((field) => {
                    const current = valueOf(person, field.key);
                    if (!(field.key in person.synced)) return false;
                    const base = person.synced[field.key]!;
                    const writes =
                      field.when === 'always' || (field.when === 'if-empty' && isEmptyValue(current));
                    return (
                      writes &&
                      !sameValue(current, base) &&
                      !sameValue(field.entra, base) &&
                      !sameValue(current, field.entra)
                    );
                  })
                  .map((field) => field.key)
              : [];
          if (mapped && !mapped.ok && inScope) return; // refused as a whole: nothing written either
          expect(decision.conflicts.map((c) => c.key)).toEqual(expected);
          if (expected.length === 0) return;
          conflicted += 1;
          expect(fieldsOf(decision.person)).toEqual(fieldsOf(person));
          expect(decision.person!.synced).toEqual(person.synced);
          const transition = isOutOfDirectory(person.status) !== isOutOfDirectory(decision.person!.status);
          expect(decision.outcome).toBe(
            transition ? (inScope ? 'reactivated' : decision.person!.status) : 'conflicted',
          );
          for (const conflict of decision.conflicts) {
            expect(conflict.app).toEqual(valueOf(person, conflict.key));
            const error = decision.errors.find(
              (e) => e.category === 'merge-conflict' && e.field === conflict.key,
            );
            expect(error?.message).toContain(`the app has ${show(conflict.app)}`);
            expect(error?.message).toContain(`Entra has ${show(conflict.entra)}`);
          }
        },
      ),
      { numRuns: RUNS },
    );
    expect(conflicted).toBeGreaterThan(RUNS / 20);
  });

  it('status out and back in returns the same status (created/invited/active), through any way of leaving, soft delete and restore included', () => {
    fc.assert(
      fc.property(
        policyInputArb,
        fc.boolean(),
        inDirectoryStatusArb,
        inScopeUserArb(),
        fc.array(notHardDeletedArb, { minLength: 1, maxLength: 3 }),
        inScopeUserArb(),
        (policy, scopeGroup, status, first, away, back) => {
          // Under a scope group, leaving may also be a removed membership.
          const ctx = planContextOf(scopeGroup ? { ...policy, scope: { groups: [G1] } } : policy);
          const inGroup = (user: MirrorUser): MirrorUser =>
            scopeGroup
              ? { ...user, memberships: { ...user.memberships, [G1]: { present: true, version: 'v' } } }
              : user;
          const startPerson = planPerson(ctx, inGroup(first), undefined).person;
          if (!startPerson) return;
          // A way of leaving Graph says (a user not described yet leaves the person as it is).
          fc.pre(!decideScope(away[0], ctx.scope).inScope && (away[0]!.facts !== null || !!away[0]!.deleted));
          let person: PersonRecord = { ...startPerson, status };
          const leave = planPerson(laterRun(ctx, T2), away[0]!, person);
          expect(leave.outcome).toBe(status === 'active' ? 'deactivated' : 'removed');
          expect(leave.destructive).toBe(true);
          person = leave.person!;
          for (const user of away.slice(1)) {
            const decision = planPerson(laterRun(ctx, T2), user, person);
            if (decision.outcome === 'failed') continue;
            person = decision.person!;
          }
          const ret = planPerson(laterRun(ctx, T3), inGroup(back), person);
          if (ret.outcome === 'failed') return; // refused: the next round tries again
          expect(ret.person!.status).toBe(status);
          expect(ret.person!.previousStatus).toBeNull();
          expect(ret.person!.personId).toBe(PERSON_ID);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('a hard delete unlinks (sourceObjectId null, formerObjectId set) and the person is not replanned as linked afterwards', () => {
    fc.assert(
      fc.property(
        policyInputArb,
        personArb(),
        plannerUserArb(),
        plannerUserArb(),
        (policy, existing, gone, later) => {
          const ctx = planContextOf(policy);
          const decision = planPerson(ctx, { ...gone, deleted: 'hard' }, existing);
          const person = decision.person!;
          expect(person).toMatchObject({
            sourceObjectId: null,
            formerObjectId: USER_ID,
            managerId: null,
            entraManagerId: null,
          });
          expect(isOutOfDirectory(person.status)).toBe(true);
          expect(person.teams).toEqual([]);
          expect(decision.destructive).toBe(!isOutOfDirectory(existing.status));
          expect(fieldsOf(person)).toEqual(fieldsOf(existing)); // a deleted user keeps its last known profile
          const again = planPerson(laterRun(ctx, T3), later, person);
          expect(['skipped', 'created', 'failed']).toContain(again.outcome);
          if (again.person) expect(again.person.history.map((entry) => entry.kind)).toEqual(['created']);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('a destructive decision is exactly a leave: destructive iff the outcome is deactivated or removed', () => {
    fc.assert(
      fc.property(
        policyInputArb,
        plannerUserArb(),
        fc.option(personArb(), { nil: undefined, freq: 4 }),
        fc.boolean(),
        (policy, user, existing, link) => {
          const ctx = planContextOf(policy);
          const linking = existing && link ? { rule: 'matching: by email' } : undefined;
          const before = existing && linking ? { ...existing, sourceObjectId: null } : existing;
          const decision = planPerson(ctx, user, before, linking);
          const leave = decision.outcome === 'deactivated' || decision.outcome === 'removed';
          expect(decision.destructive).toBe(leave);
          if (leave) {
            expect(decision.person!.status).toBe(decision.outcome);
            expect(decision.person!.previousStatus).toBe(before!.status);
            expect(isOutOfDirectory(before!.status)).toBe(false);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('matching never lets a user out of scope claim a person: linking a candidate to a guest, disabled or filtered-out user does nothing', () => {
    fc.assert(
      fc.property(policyInputArb, plannerUserArb(), personArb(), (policy, user, candidate) => {
        const ctx = planContextOf(policy);
        fc.pre(!decideScope(user, ctx.scope).inScope);
        const unlinked = { ...candidate, sourceObjectId: null };
        const decision = planPerson(ctx, user, unlinked, { rule: 'matching: by email' });
        expect(decision).toMatchObject({ outcome: 'skipped', person: undefined, destructive: false });
      }),
      { numRuns: RUNS },
    );
  });

  /** Random policies, users and people: `check` gets every decision with a person, failures aside. */
  function forEveryPlannedPerson(
    check: (
      ctx: PlanContext,
      user: MirrorUser,
      existing: PersonRecord | undefined,
      person: PersonRecord,
      decision: PersonDecision,
    ) => void,
  ): void {
    fc.assert(
      fc.property(
        policyInputArb,
        plannerUserArb(),
        fc.option(personArb(), { nil: undefined }),
        (policy, user, existing) => {
          const ctx = planContextOf(policy);
          const decision = planPerson(ctx, user, existing);
          if (decision.person && decision.outcome !== 'failed')
            check(ctx, user, existing, decision.person, decision);
        },
      ),
      { numRuns: RUNS },
    );
  }

  it('teams follow the rules while the person is in the directory, and a person out of the directory has no teams', () => {
    forEveryPlannedPerson((ctx, user, existing, { status, teams }, decision) => {
      if (!user.facts && !user.deleted) {
        // Not described by Graph yet: the person is left as it is, teams included.
        expect(decision.person).toBe(existing);
        return;
      }
      expect(teams).toEqual(isOutOfDirectory(status) ? [] : teamsOf(user.memberships, true, ctx.teams));
    });
  });

  it('a person out of the directory has no manager link and no manager problem, as the managers rule would decide; one coming back is linked to the manager Entra names', () => {
    forEveryPlannedPerson((_ctx, user, _existing, { status, managerId, managerProblem }, decision) => {
      if (!user.facts && !user.deleted) return; // left as it is
      if (isOutOfDirectory(status)) expect([managerId, managerProblem]).toEqual([null, null]);
      if (decision.outcome === 'reactivated')
        expect(managerId).toBe(user.managerId ? personIdFor(TENANT, user.managerId) : null);
    });
  });

  it('the person id, its origin and its creation time never change for a linked person', () => {
    fc.assert(
      fc.property(
        policyInputArb,
        fc.array(plannerUserArb(), { minLength: 1, maxLength: 6 }),
        personArb(),
        (policy, states, start) => {
          const ctx = planContextOf(policy);
          let person: PersonRecord = start;
          for (const user of states) {
            const decision = planPerson(ctx, user, person);
            expect(decision.person).toBeDefined();
            expect(decision.person).toMatchObject({
              personId: PERSON_ID,
              origin: start.origin,
              createdAt: start.createdAt,
            });
            if (decision.person!.sourceObjectId !== USER_ID) break;
            person = decision.person!;
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('a new user gets a person exactly when it is in scope and can be represented', () => {
    fc.assert(
      fc.property(policyInputArb, plannerUserArb(), (policy, user) => {
        const ctx = planContextOf(policy);
        const decision = planPerson(ctx, user, undefined);
        const expected = !decideScope(user, ctx.scope).inScope
          ? 'skipped'
          : mapUser(user, ctx.policy, ctx.customTypes).ok
            ? 'created'
            : 'failed';
        expect(decision.outcome).toBe(expected);
        if (expected === 'created') {
          expect(decision.person).toMatchObject({
            status: 'created',
            previousStatus: null,
            personId: PERSON_ID,
            sourceObjectId: USER_ID,
          });
        } else {
          expect(decision.person).toBeUndefined();
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('when on-create: the field is written on creation only, whatever Entra changes afterwards (every strategy)', () => {
    fc.assert(
      fc.property(
        fc.subarray([...PERSON_FIELDS], { minLength: 1 }),
        fc.constantFrom(...MERGE_STRATEGIES),
        inScopeUserArb(),
        fc.array(plannerUserArb(), { minLength: 1, maxLength: 3 }),
        (fields, mergeStrategy, first, changes) => {
          const ctx = planContextOf({
            mergeStrategy,
            fieldWrites: Object.fromEntries(fields.map((f) => [f, 'on-create'])),
          });
          const decision = planPerson(ctx, first, undefined);
          if (!decision.person) return;
          const mapped = mapUser(first, ctx.policy, ctx.customTypes);
          const entra = Object.fromEntries(
            mapped.ok ? mapped.mapped.fields.map((f) => [f.key, f.entra]) : [],
          );
          let person = decision.person;
          for (const field of fields) expect(valueOf(person, field)).toEqual(entra[field]);
          for (const user of changes) {
            const next = planPerson(laterRun(ctx, T2), user, person).person;
            if (!next || next.sourceObjectId !== USER_ID) break;
            for (const field of fields) expect(valueOf(next, field)).toEqual(valueOf(person, field));
            person = next;
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('when if-empty: sync only fills an empty value, and never replaces one (every strategy)', () => {
    let filled = 0;
    fc.assert(
      fc.property(
        fc.subarray([...PERSON_FIELDS], { minLength: 1 }),
        fc.constantFrom(...MERGE_STRATEGIES),
        editedPersonArb,
        plannerUserArb(),
        (fields, mergeStrategy, { first, edits, status }, user) => {
          const ctx = planContextOf({
            mergeStrategy,
            fieldWrites: Object.fromEntries(fields.map((f) => [f, 'if-empty'])),
          });
          const person = createdUnder(ctx, first, edits, status);
          if (!person) return;
          const decision = planPerson(laterRun(ctx, T2), user, person);
          if (!decision.person) return;
          const mapped = user.facts && !user.deleted ? mapUser(user, ctx.policy, ctx.customTypes) : undefined;
          const entra = Object.fromEntries(
            mapped?.ok ? mapped.mapped.fields.map((f) => [f.key, f.entra]) : [],
          );
          for (const field of fields) {
            const before = valueOf(person, field);
            const after = valueOf(decision.person, field);
            if (!isEmptyValue(before)) expect(after, field).toEqual(before);
            else if (mergeStrategy === 'entra-wins' && mapped?.ok) {
              expect(after, field).toEqual(entra[field]);
              if (!isEmptyValue(after)) filled += 1;
            }
          }
        },
      ),
      { numRuns: RUNS },
    );
    expect(filled).toBeGreaterThan(0);
  });

  it('a custom value that cannot be coerced leaves that field as it was and reports it; the other fields are still written', () => {
    fc.assert(
      fc.property(
        policyInputArb,
        fc.option(personArb(), { nil: undefined }),
        inScopeUserArb(),
        (policy, existing, user) => {
          // entra-wins, always: every field that maps is written.
          const ctx = planContextOf({
            ...policy,
            mergeStrategy: 'entra-wins',
            fieldWrites: {},
            mappings: (policy.mappings ?? []).map((m) => ({ ...m, when: 'always' as const })),
          });
          const decision: PersonDecision = planPerson(ctx, user, existing);
          if (decision.outcome === 'failed') return;
          const person = decision.person!;
          const invalid = decision.errors.filter((e) => e.category === 'invalid-data').map((e) => e.field!);
          const mapped = mapUser(user, ctx.policy, ctx.customTypes);
          expect(mapped.ok).toBe(true);
          if (!mapped.ok) return;
          expect(invalid).toEqual(mapped.mapped.invalid.map((i) => i.key));
          for (const key of invalid)
            expect(valueOf(person, key), key).toEqual(existing ? valueOf(existing, key) : null);
          for (const field of mapped.mapped.fields)
            expect(valueOf(person, field.key), field.key).toEqual(field.entra);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
