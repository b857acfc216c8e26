import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { MirrorUser } from '../../../src/domain/directory.js';
import { personIdFor } from '../../../src/domain/person-id.js';
import { mapUserToPerson } from '../../../src/domain/person-mapping.js';
import { type Person, planPerson } from '../../../src/domain/person-plan.js';
import { isOutOfDirectory, type PersonStatus } from '../../../src/domain/person-status.js';
import { isUserInScope } from '../../../src/domain/scope.js';
import { mirrorUserArb, personArb, TENANT, userOf } from './arbitraries.js';

const USER_ID = '87d349ed-44d7-43e1-9a83-5f2406dee5bd';
const PERSON_ID = personIdFor(TENANT, USER_ID);
const T1 = '2025-01-01T00:00:00.000Z';
const T2 = '2025-01-02T00:00:00.000Z';
const T3 = '2025-01-03T00:00:00.000Z';

const userArb = mirrorUserArb(fc.constant(USER_ID));
const existingArb = fc.option(personArb(TENANT, USER_ID, PERSON_ID), { nil: undefined, freq: 2 });

function created(user: MirrorUser = userOf()): Person {
  const plan = planPerson(TENANT, user, undefined, T1);
  if (plan.outcome !== 'created') throw new Error(`expected created, got ${plan.outcome}`);
  return plan.person;
}

function withStatus(
  person: Person,
  status: PersonStatus,
  previousStatus: PersonStatus | null = null,
): Person {
  return { ...person, status, previousStatus };
}

describe('planPerson outcomes', () => {
  it('creates a person for a new in-scope user, with status created and the derived id', () => {
    const plan = planPerson(TENANT, userOf(), undefined, T1);
    expect(plan.outcome).toBe('created');
    expect(plan.person).toMatchObject({
      personId: PERSON_ID,
      sourceObjectId: USER_ID,
      status: 'created',
      previousStatus: null,
      email: 'adelev@contoso.onmicrosoft.com',
      createdAt: T1,
      updatedAt: T1,
    });
  });

  it('skips a new user that is out of scope', () => {
    expect(planPerson(TENANT, userOf({}, { userType: 'Guest' }), undefined, T1)).toEqual({
      outcome: 'skipped',
      person: undefined,
    });
  });

  it('updates the fields of a person whose user changed, keeping its status and creation time', () => {
    const person = withStatus(created(), 'active');
    const plan = planPerson(TENANT, userOf({}, { jobTitle: 'Director' }), person, T2);
    expect(plan.outcome).toBe('updated');
    expect(plan.person).toMatchObject({
      jobTitle: 'Director',
      status: 'active',
      createdAt: T1,
      updatedAt: T2,
    });
  });

  it('leaves a person unchanged when the user maps to the same fields', () => {
    const person = created();
    expect(planPerson(TENANT, userOf(), person, T2)).toEqual({ outcome: 'unchanged', person });
  });

  it('deactivates an active person whose user was disabled, with the profile Entra last gave', () => {
    const person = withStatus(created(), 'active');
    const plan = planPerson(TENANT, userOf({}, { accountEnabled: false, jobTitle: 'Changed' }), person, T2);
    expect(plan.outcome).toBe('deactivated');
    expect(plan.person).toEqual({
      ...person,
      jobTitle: 'Changed',
      status: 'deactivated',
      previousStatus: 'active',
      updatedAt: T2,
    });
  });

  it('updates the profile of a person already out of the directory (a late change of a leaver), keeping its status', () => {
    const person = withStatus(created(), 'removed', 'created');
    const plan = planPerson(TENANT, userOf({ deleted: 'hard' }, { jobTitle: 'Late' }), person, T2);
    expect(plan.outcome).toBe('updated');
    expect(plan.person).toEqual({ ...person, jobTitle: 'Late', updatedAt: T2 });
  });

  it('a leaver whose profile cannot be mapped keeps the profile it has', () => {
    const person = withStatus(created(), 'active');
    const plan = planPerson(
      TENANT,
      userOf({ deleted: 'soft' }, { mail: null, userPrincipalName: null }),
      person,
      T2,
    );
    expect(plan.outcome).toBe('deactivated');
    expect(plan.person).toEqual({
      ...person,
      status: 'deactivated',
      previousStatus: 'active',
      updatedAt: T2,
    });
  });

  it('removes a created or invited person whose user was soft-deleted', () => {
    for (const status of ['created', 'invited'] as const) {
      const plan = planPerson(TENANT, userOf({ deleted: 'soft' }), withStatus(created(), status), T2);
      expect(plan.outcome).toBe('removed');
      expect(plan.person).toMatchObject({ status: 'removed', previousStatus: status });
    }
  });

  it('reactivates a person whose user was restored, with the status it had and the new fields', () => {
    const person = withStatus(created(), 'deactivated', 'active');
    const plan = planPerson(TENANT, userOf({}, { department: 'Sales' }), person, T2);
    expect(plan.outcome).toBe('reactivated');
    expect(plan.person).toMatchObject({
      personId: PERSON_ID,
      status: 'active',
      previousStatus: null,
      department: 'Sales',
      updatedAt: T2,
    });
  });

  it('fails, keeping the person as it is, when an in-scope user cannot be mapped', () => {
    const person = withStatus(created(), 'active');
    const plan = planPerson(TENANT, userOf({}, { mail: null, userPrincipalName: null }), person, T2);
    expect(plan.outcome).toBe('failed');
    expect(plan.person).toBe(person);
    expect(plan.outcome === 'failed' && plan.reason).toMatch(/mail/);
  });

  it('leaves a person already out of the directory unchanged while its user stays out of scope', () => {
    const person = withStatus(created(), 'removed', 'created');
    expect(planPerson(TENANT, userOf({ deleted: 'hard' }), person, T2)).toEqual({
      outcome: 'unchanged',
      person,
    });
  });

  it('a soft delete then a restore within 30 days gives back the same person with its status', () => {
    const active = withStatus(created(), 'active');
    const gone = planPerson(TENANT, userOf({ deleted: 'soft' }), active, T2);
    expect(gone.outcome).toBe('deactivated');
    const back = planPerson(TENANT, userOf(), gone.person, T3);
    expect(back.outcome).toBe('reactivated');
    expect(back.person).toEqual({ ...active, updatedAt: T3 });
  });
});

describe('planPerson properties', () => {
  it('is idempotent: planning again against its own result gives unchanged or skipped (or the same failure)', () => {
    fc.assert(
      fc.property(userArb, existingArb, (user, existing) => {
        const first = planPerson(TENANT, user, existing, T2);
        const second = planPerson(TENANT, user, first.person, T3);
        if (first.outcome === 'failed') {
          expect(second.outcome).toBe('failed');
        } else {
          expect(['unchanged', 'skipped']).toContain(second.outcome);
        }
        expect(second.person).toEqual(first.person);
      }),
      { numRuns: 1000 },
    );
  });

  it('a created person always has status created, the derived id and the user as source', () => {
    fc.assert(
      fc.property(mirrorUserArb(), (user) => {
        const plan = planPerson(TENANT, user, undefined, T1);
        if (plan.outcome !== 'created') return;
        expect(plan.person).toMatchObject({
          status: 'created',
          previousStatus: null,
          personId: personIdFor(TENANT, user.id),
          sourceObjectId: user.id,
        });
      }),
      { numRuns: 500 },
    );
  });

  it('creates a person exactly for a new in-scope user that maps, and never for an out-of-scope one', () => {
    fc.assert(
      fc.property(userArb, (user) => {
        const plan = planPerson(TENANT, user, undefined, T1);
        const expected = !isUserInScope(user)
          ? 'skipped'
          : mapUserToPerson(TENANT, user).ok
            ? 'created'
            : 'failed';
        expect(plan.outcome).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('never deletes a person: a known person always comes back, with the same id and source', () => {
    fc.assert(
      fc.property(userArb, personArb(TENANT, USER_ID, PERSON_ID), (user, existing) => {
        const plan = planPerson(TENANT, user, existing, T2);
        expect(plan.person).toBeDefined();
        expect(plan.person?.personId).toBe(PERSON_ID);
        expect(plan.person?.sourceObjectId).toBe(USER_ID);
        expect(plan.person?.createdAt).toBe(existing.createdAt);
      }),
      { numRuns: 500 },
    );
  });

  it('keeps the person id stable through any sequence of user states', () => {
    fc.assert(
      fc.property(fc.array(userArb, { minLength: 1, maxLength: 8 }), (states) => {
        let person: Person | undefined;
        for (const user of states) {
          person = planPerson(TENANT, user, person, T2).person ?? person;
          if (person) expect(person.personId).toBe(PERSON_ID);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('puts the person out of the directory exactly when its user is out of scope', () => {
    fc.assert(
      fc.property(userArb, personArb(TENANT, USER_ID, PERSON_ID), (user, existing) => {
        const plan = planPerson(TENANT, user, existing, T2);
        if (plan.outcome === 'failed') return;
        expect(isOutOfDirectory(plan.person!.status)).toBe(!isUserInScope(user));
      }),
      { numRuns: 500 },
    );
  });

  it('out of scope then back in scope restores every in-directory status', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<PersonStatus>('created', 'invited', 'active'),
        userArb,
        (status, outUser) => {
          fc.pre(!isUserInScope(outUser));
          const person = withStatus(created(), status);
          const gone = planPerson(TENANT, outUser, person, T2);
          const back = planPerson(TENANT, userOf(), gone.person, T3);
          expect(back.person?.status).toBe(status);
        },
      ),
    );
  });
});
