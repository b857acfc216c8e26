import fc from 'fast-check';

import type { Deletion, MirrorUser, UserFacts } from '../../../src/domain/directory.js';
import type { Person } from '../../../src/domain/person-plan.js';
import { PERSON_STATUSES, type PersonStatus } from '../../../src/domain/person-status.js';

/** Generators shared by the domain tests: Entra ids are GUIDs, as Graph gives them. */
export const guid = (): fc.Arbitrary<string> => fc.uuid();

export const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';

export function factsOf(overrides: Partial<UserFacts> = {}): UserFacts {
  return {
    displayName: 'Adele Vance',
    givenName: 'Adele',
    surname: 'Vance',
    mail: 'AdeleV@contoso.onmicrosoft.com',
    userPrincipalName: 'AdeleV@contoso.onmicrosoft.com',
    jobTitle: 'Retail Manager',
    department: 'Retail',
    officeLocation: '18/2111',
    employeeId: 'E100',
    employeeHireDate: '2020-01-15T00:00:00Z',
    accountEnabled: true,
    userType: 'Member',
    proxyAddresses: ['SMTP:AdeleV@contoso.onmicrosoft.com'],
    ...overrides,
  };
}

export function userOf(overrides: Partial<MirrorUser> = {}, facts: Partial<UserFacts> = {}): MirrorUser {
  return {
    id: '87d349ed-44d7-43e1-9a83-5f2406dee5bd',
    facts: factsOf(facts),
    managerId: null,
    managerVersion: '',
    factsVersion: '0000000001.000000.000000',
    deleted: null,
    version: '0000000001.000000.000000',
    memberships: {},
    ...overrides,
  };
}

const shortText = fc.option(fc.string({ maxLength: 12 }), { nil: null });
const emailLike = fc.option(
  fc.oneof(
    fc.emailAddress(),
    fc.constantFrom('', '  ', 'Guest_contoso.com#EXT#@fabrikam.onmicrosoft.com', 'UPPER@Contoso.COM'),
  ),
  { nil: null },
);

export const userFactsArb: fc.Arbitrary<UserFacts> = fc.record({
  displayName: shortText,
  givenName: shortText,
  surname: shortText,
  mail: emailLike,
  userPrincipalName: emailLike,
  jobTitle: shortText,
  department: shortText,
  officeLocation: shortText,
  employeeId: shortText,
  employeeHireDate: fc.option(fc.constantFrom('2020-01-15T00:00:00Z', '2014-06-30', 'not a date'), {
    nil: null,
  }),
  accountEnabled: fc.option(fc.boolean(), { nil: null }),
  userType: fc.option(fc.constantFrom('Member', 'Guest', 'member'), { nil: null }),
  proxyAddresses: fc.array(fc.string({ maxLength: 12 }), { maxLength: 2 }),
});

export const deletionArb: fc.Arbitrary<Deletion | null> = fc.constantFrom<Deletion | null>(
  null,
  null,
  'soft',
  'hard',
);

/** A mirror user of any shape: in scope or not, deleted or not, with or without facts. */
export const mirrorUserArb = (id: fc.Arbitrary<string> = guid()): fc.Arbitrary<MirrorUser> =>
  fc.record({
    id,
    facts: fc.option(userFactsArb, { nil: null, freq: 8 }),
    managerId: fc.option(guid(), { nil: null }),
    managerVersion: fc.constant('0000000001.000000.000000'),
    factsVersion: fc.constant('0000000001.000000.000000'),
    deleted: deletionArb,
    version: fc.constant('0000000001.000000.000000'),
    memberships: fc.dictionary(
      fc.constantFrom('g-1', 'g-2', 'g-3'),
      fc.record({ present: fc.boolean(), version: fc.constant('0000000001.000000.000001') }),
    ),
  });

export const statusArb: fc.Arbitrary<PersonStatus> = fc.constantFrom(...PERSON_STATUSES);

/** A person as the app may hold it for `objectId`: any status, any previous status, any fields. */
export const personArb = (tenantId: string, objectId: string, personId: string): fc.Arbitrary<Person> =>
  fc.record({
    personId: fc.constant(personId),
    sourceObjectId: fc.constant(objectId),
    status: statusArb,
    previousStatus: fc.option(statusArb, { nil: null }),
    createdAt: fc.constant('2024-01-01T00:00:00.000Z'),
    updatedAt: fc.constant('2024-01-01T00:00:00.000Z'),
    displayName: fc.string({ minLength: 1, maxLength: 12 }),
    givenName: shortText,
    surname: shortText,
    email: fc.emailAddress(),
    jobTitle: shortText,
    department: shortText,
    officeLocation: shortText,
    employeeId: shortText,
    hireDate: fc.option(fc.constant('2020-01-15'), { nil: null }),
    managerId: fc.option(fc.constant(`manager-of-${tenantId}`), { nil: null }),
  });
