import fc from 'fast-check';

import type { CustomPropertyType } from '../../../src/domain/coerce.js';
import type { Deletion, Membership, MirrorUser, UserFacts } from '../../../src/domain/directory.js';
import { descendantsOf, type GroupGraph, parentsOf } from '../../../src/domain/group-closure.js';
import type { FieldValue } from '../../../src/domain/merge.js';
import type { PersonRecord } from '../../../src/domain/person.js';
import { personIdFor, teamIdFor } from '../../../src/domain/person-id.js';
import type { PlanContext } from '../../../src/domain/person-plan.js';
import { PERSON_STATUSES, type PersonStatus } from '../../../src/domain/person-status.js';
import {
  type Mapping,
  MEMBER_MODES,
  MERGE_STRATEGIES,
  PERSON_FIELDS,
  type PersonField,
  type PolicyInput,
  policySchema,
  WRITE_WHEN,
} from '../../../src/domain/policy.js';
import { parseUserFilter } from '../../../src/domain/user-filter.js';

/** Generators shared by the domain tests: Entra ids are GUIDs, as Graph gives them. */
export const guid = (): fc.Arbitrary<string> => fc.uuid();

export const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
export const USER_ID = '87d349ed-44d7-43e1-9a83-5f2406dee5bd';
export const PERSON_ID = personIdFor(TENANT, USER_ID);
export const T0 = '2024-01-01T00:00:00.000Z';
export const T1 = '2025-01-01T00:00:00.000Z';
export const T2 = '2025-01-02T00:00:00.000Z';
export const T3 = '2025-01-03T00:00:00.000Z';
const V1 = '0000000001.000000.000000';

/** A small pool of Entra groups (GUIDs, as the policy's schema wants them). */
export const GROUPS: readonly [string, string, string, string, string, string] = [
  'a0000000-0000-4000-8000-000000000001',
  'a0000000-0000-4000-8000-000000000002',
  'a0000000-0000-4000-8000-000000000003',
  'a0000000-0000-4000-8000-000000000004',
  'a0000000-0000-4000-8000-000000000005',
  'a0000000-0000-4000-8000-000000000006',
];
export const MANAGERS: readonly [string, string] = [
  'b0000000-0000-4000-8000-000000000001',
  'b0000000-0000-4000-8000-000000000002',
];
/** A directory extension the custom mappings read (`extension_<appId>_<name>`). */
export const EXT_SKILLS = 'extension_0123456789abcdef0123456789abcdef_skills';

/** The app's custom property definitions the custom mappings write. */
export const CUSTOM_TYPES: Readonly<Record<string, CustomPropertyType>> = {
  costCenter: 'number',
  remote: 'boolean',
  skills: 'string-list',
  started: 'date',
  title: 'string',
};

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
    id: USER_ID,
    facts: factsOf(facts),
    managerId: null,
    managerVersion: '',
    factsVersion: V1,
    deleted: null,
    version: V1,
    memberships: {},
    ...overrides,
  };
}

/** Present (or removed) direct memberships, by group id. */
export function membershipsOf(
  present: readonly string[],
  removed: readonly string[] = [],
): Record<string, Membership> {
  const entries: [string, Membership][] = [
    ...present.map((groupId): [string, Membership] => [groupId, { present: true, version: V1 }]),
    ...removed.map((groupId): [string, Membership] => [groupId, { present: false, version: V1 }]),
  ];
  return Object.fromEntries(entries);
}

/** Nested groups as (parent, child) pairs, cycles and self-loops allowed. */
export type Nesting = readonly (readonly [string, string])[];

/**
 * The group graph as the group graph store builds it from the mirror: parent → children and child →
 * parents, deleted groups and their edges left out.
 */
export function groupGraphOf(
  nesting: Nesting,
  deleted: ReadonlySet<string> = new Set(),
): { children: GroupGraph; parents: GroupGraph } {
  const children = new Map<string, string[]>();
  for (const [parent, child] of nesting) {
    if (deleted.has(parent) || deleted.has(child)) continue;
    const list = children.get(parent) ?? [];
    if (!list.includes(child)) list.push(child);
    children.set(parent, list);
  }
  return { children: { children }, parents: { children: parentsOf({ children }) } };
}

export interface PlanContextOptions {
  readonly nesting?: Nesting;
  readonly deletedGroups?: Iterable<string>;
  readonly customTypes?: Readonly<Record<string, CustomPropertyType>>;
  readonly now?: string;
  readonly runId?: string;
}

/** A planner context compiled from a policy document, as the use case compiles it from the mirror. */
export function planContextOf(input: PolicyInput = {}, options: PlanContextOptions = {}): PlanContext {
  const policy = policySchema.parse(input);
  const deletedGroups = new Set(options.deletedGroups ?? []);
  const graph = groupGraphOf(options.nesting ?? [], deletedGroups);
  let filter = null;
  if (policy.scope.filter) {
    const parsed = parseUserFilter(policy.scope.filter);
    if (!parsed.ok) throw new Error(`bad filter at ${parsed.position}: ${parsed.reason}`);
    filter = parsed.filter;
  }
  return {
    tenantId: TENANT,
    runId: options.runId ?? 'run-1',
    now: options.now ?? T1,
    policy,
    scope: {
      policy,
      scopeGroups: policy.scope.groups.length > 0 ? descendantsOf(graph.children, policy.scope.groups) : null,
      deletedGroups,
      filter,
    },
    teams: {
      teams: policy.teams,
      deletedGroups,
      parents: graph.parents,
      teamIdForGroup: (groupId) => teamIdFor(TENANT, groupId),
    },
    customTypes: new Map(Object.entries(options.customTypes ?? CUSTOM_TYPES)),
  };
}

/** The same context, a later run. */
export function laterRun(ctx: PlanContext, now: string, runId = `run-at-${now}`): PlanContext {
  return { ...ctx, now, runId };
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
    managerVersion: fc.constant(V1),
    factsVersion: fc.constant(V1),
    deleted: deletionArb,
    version: fc.constant(V1),
    memberships: fc.dictionary(
      fc.constantFrom('g-1', 'g-2', 'g-3'),
      fc.record({ present: fc.boolean(), version: fc.constant('0000000001.000000.000001') }),
    ),
  });

export const statusArb: fc.Arbitrary<PersonStatus> = fc.constantFrom(...PERSON_STATUSES);
export const inDirectoryStatusArb: fc.Arbitrary<PersonStatus> = fc.constantFrom(
  'created',
  'invited',
  'active',
);

// --- The planner's generators: small pools of values, so that app edits, Entra changes and the values
// sync last wrote often coincide (edits, conflicts and agreements all occur).

/** Values a built-in field may hold, in the app or in Entra. */
const TEXTS: Readonly<Record<PersonField, readonly (string | null)[]>> = {
  displayName: ['Adele Vance', 'Adele V.', 'Alex Wilber'],
  givenName: ['Adele', 'Alex', null],
  surname: ['Vance', 'Wilber', null],
  email: ['adele@contoso.com', 'adele.vance@contoso.com'],
  jobTitle: ['Engineer', 'Manager', null],
  department: ['Retail', 'Sales', null],
  officeLocation: ['18/2111', '20/1101', null],
  employeeId: ['E100', 'E200', null],
  hireDate: ['2020-01-15', '2014-06-30', null],
};

const pick = <T>(values: readonly T[]): fc.Arbitrary<T> => fc.constantFrom(...values);

/** A user's properties, mostly in scope under the default policy; sometimes a guest, disabled, or an #EXT#. */
export const plannerFactsArb: fc.Arbitrary<UserFacts> = fc.record({
  displayName: pick(['Adele Vance', 'Adele V.', '  ', null]),
  givenName: pick(TEXTS.givenName),
  surname: pick(TEXTS.surname),
  mail: pick(['adele@contoso.com', 'Adele.Vance@Contoso.com', null]),
  userPrincipalName: pick([
    'adele@contoso.com',
    'adele@contoso.com',
    'adele@contoso.com',
    'adele_fabrikam.com#EXT#@contoso.onmicrosoft.com',
    null,
  ]),
  jobTitle: pick(TEXTS.jobTitle),
  department: pick(TEXTS.department),
  officeLocation: pick(TEXTS.officeLocation),
  employeeId: pick(TEXTS.employeeId),
  employeeHireDate: pick(['2020-01-15T00:00:00Z', '2014-06-30T00:00:00Z', 'soon', null]),
  accountEnabled: pick<boolean | null>([true, true, true, true, false, null]),
  userType: pick<string | null>(['Member', 'Member', 'Member', 'Member', 'Guest']),
  proxyAddresses: fc.constant(['SMTP:adele@contoso.com']),
  onPremisesExtensionAttributes: fc.record({
    extensionAttribute1: pick<string | null>(['12', '7.5', 'twelve', null]),
    extensionAttribute2: pick<string | null>(['yes', 'no', 'maybe', null]),
  }),
  more: fc.record({
    [EXT_SKILLS]: pick<string[] | string | number | null>([['go', 'ts'], ['ts'], 'go', 42, null]),
  }),
});

/** Direct memberships among GROUPS, present or removed. */
export const membershipsArb: fc.Arbitrary<Record<string, Membership>> = fc.dictionary(
  pick(GROUPS),
  fc.record({ present: fc.boolean(), version: fc.constant(V1) }),
  { maxKeys: 4 },
);

/** The mirror row of `id`: described or not, deleted or not, with a manager and memberships. */
export const plannerUserArb = (id: string = USER_ID): fc.Arbitrary<MirrorUser> =>
  fc.record({
    id: fc.constant(id),
    facts: fc.option(plannerFactsArb, { nil: null, freq: 12 }),
    factsVersion: fc.constant(V1),
    managerId: fc.option(pick(MANAGERS), { nil: null }),
    managerVersion: fc.constant(V1),
    deleted: pick<Deletion | null>([null, null, null, null, null, 'soft', 'hard']),
    version: fc.constant(V1),
    memberships: membershipsArb,
  });

/** A user in scope under the default policy (no scope groups, no filter, no email rules). */
export const inScopeUserArb = (id: string = USER_ID): fc.Arbitrary<MirrorUser> =>
  fc.record({ user: plannerUserArb(id), facts: plannerFactsArb }).map(({ user, facts }) => ({
    ...user,
    deleted: null,
    facts: { ...facts, accountEnabled: true, userType: 'Member', userPrincipalName: 'adele@contoso.com' },
  }));

/** The custom mappings a generated policy picks from (each given a `when` of its own). */
export const CUSTOM_MAPPINGS: readonly Omit<Mapping, 'when'>[] = [
  { source: 'onPremisesExtensionAttributes.extensionAttribute1', target: { customProperty: 'costCenter' } },
  { source: 'onPremisesExtensionAttributes.extensionAttribute2', target: { customProperty: 'remote' } },
  { source: EXT_SKILLS, target: { customProperty: 'skills' } },
  { source: 'employeeHireDate', target: { customProperty: 'started' } },
  { source: 'jobTitle', target: { customProperty: 'title' } },
  { source: 'department', target: { field: 'officeLocation' } },
  { source: 'onPremisesExtensionAttributes.extensionAttribute1', target: { field: 'employeeId' } },
];

/** Every field key a generated policy may map (the built-in fields and the custom properties). */
export const FIELD_KEYS: readonly string[] = [
  ...PERSON_FIELDS,
  ...Object.keys(CUSTOM_TYPES).map((name) => `custom.${name}`),
];

const teamsInputArb = fc.record({
  groupSync: fc.record({
    mode: pick(['all', 'selected', 'none'] as const),
    groups: fc.subarray([...GROUPS]),
    members: pick(MEMBER_MODES),
  }),
  mappings: fc.uniqueArray(
    fc.record({
      groupId: pick(GROUPS),
      teamId: pick(['team-sales', 'team-it']),
      members: pick(MEMBER_MODES),
    }),
    { maxLength: 3, selector: (m) => `${m.groupId}|${m.teamId}` },
  ),
});

/** A policy a connection may hold (default scope rules: the user generators decide who is in scope). */
export const policyInputArb: fc.Arbitrary<PolicyInput> = fc.record({
  mergeStrategy: pick(MERGE_STRATEGIES),
  fieldWrites: fc.dictionary(pick(PERSON_FIELDS), pick(WRITE_WHEN), { maxKeys: 4 }),
  mappings: fc
    .subarray([...CUSTOM_MAPPINGS])
    .chain((mappings) =>
      fc.tuple(...mappings.map((m) => pick(WRITE_WHEN).map((when): Mapping => ({ ...m, when })))),
    ),
  teams: teamsInputArb,
});

/** A value the app may give a field key (same pools as Entra's, so edits often meet Entra's changes). */
export function appValueArb(key: string): fc.Arbitrary<FieldValue> {
  if (key in TEXTS) return pick<FieldValue>([...TEXTS[key as PersonField], '']);
  const custom: Readonly<Record<string, readonly FieldValue[]>> = {
    'custom.costCenter': [12, 7.5, 3, null],
    'custom.remote': [true, false, null],
    'custom.skills': [['go', 'ts'], ['ts'], [], null],
    'custom.started': ['2020-01-15', '2014-06-30', null],
    'custom.title': ['Engineer', 'Manager', 'Boss', null],
  };
  return pick(custom[key] ?? [null]);
}

/** App edits: a few field keys, each with a value of the app's. */
export const appEditsArb: fc.Arbitrary<Record<string, FieldValue>> = fc
  .subarray([...FIELD_KEYS], { maxLength: 5 })
  .chain((keys) => fc.tuple(...keys.map((key) => appValueArb(key).map((value) => [key, value] as const))))
  .map((entries) => Object.fromEntries(entries));

/** The person with these values set by the app (its `synced` untouched: they are the app's edits). */
export function withEdits(person: PersonRecord, edits: Readonly<Record<string, FieldValue>>): PersonRecord {
  const fields: Record<string, FieldValue> = {};
  const custom: Record<string, FieldValue> = { ...person.custom };
  for (const [key, value] of Object.entries(edits)) {
    if (key.startsWith('custom.')) custom[key.slice('custom.'.length)] = value;
    else fields[key] = value;
  }
  return { ...person, ...fields, custom };
}

/**
 * A person linked to `objectId` in any state the app may hold: any status and previous status, any
 * values, any record of what sync last wrote, any teams and manager.
 */
export const personArb = (objectId: string = USER_ID): fc.Arbitrary<PersonRecord> =>
  fc
    .record({
      origin: pick(['entra', 'app'] as const),
      status: statusArb,
      previousStatus: fc.option(statusArb, { nil: null }),
      values: fc.record(
        Object.fromEntries(PERSON_FIELDS.map((field) => [field, pick(TEXTS[field])])) as {
          [K in PersonField]: fc.Arbitrary<string | null>;
        },
      ),
      custom: fc.record(
        Object.fromEntries(Object.keys(CUSTOM_TYPES).map((name) => [name, appValueArb(`custom.${name}`)])),
        { requiredKeys: [] },
      ),
      synced: fc
        .subarray([...FIELD_KEYS])
        .chain((keys) =>
          fc.tuple(...keys.map((key) => appValueArb(key).map((value) => [key, value] as const))),
        )
        .map((entries) => Object.fromEntries(entries)),
      teams: fc.subarray(GROUPS.map((g) => teamIdFor(TENANT, g))),
      entraManagerId: fc.option(pick(MANAGERS), { nil: null }),
    })
    .map(
      ({ origin, status, previousStatus, values, custom, synced, teams, entraManagerId }): PersonRecord => ({
        personId: personIdFor(TENANT, objectId),
        origin,
        sourceObjectId: objectId,
        status,
        previousStatus,
        ...values,
        managerId: entraManagerId ? personIdFor(TENANT, entraManagerId) : null,
        entraManagerId,
        managerProblem: null,
        custom: custom as Record<string, FieldValue>,
        synced,
        teams,
        history: [],
        createdAt: T0,
        updatedAt: T0,
      }),
    );
