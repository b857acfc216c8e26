/**
 * The local `$filter` agrees with the stand-in's `$filter` on generated users: each case hires generated
 * users into one running stand-in, asks `GET /users?$filter=…` (advanced query: `ConsistencyLevel:
 * eventual` and `$count=true`) for a generated filter, and compares the ids with `matchesUserFilter` on
 * the same users as Graph describes them. The two evaluators share no code.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type RunningStandin, startStandin } from '../../../local/standin/index.js';
import { EMPTY_EXTENSION_ATTRIBUTES } from '../../../local/standin/tenant/generator.js';
import { matchesUserFilter, parseUserFilter } from '../../../src/domain/user-filter.js';
import { graphToken, rawCall } from '../../local/standin/standin-test-clients.js';

const APP = '0123456789abcdef0123456789abcdef';
const COST_CENTER = `extension_${APP}_costCenter`;
const LEVEL = `extension_${APP}_level`;

const POOLS = {
  displayName: ['Adele Vance', 'adele vance', "Miles O'Neil", 'Zoë Ås', 'Bob', null],
  department: ['Sales', 'SALES', 'Legal', 'Sales & Marketing', null],
  jobTitle: ['Manager', 'manager', 'Lead Engineer', null],
  mail: ['adele@contoso.com', 'ADELE@contoso.com', 'bob@fabrikam.com', null],
  city: ['Paris', 'paris', 'Seattle', null],
  companyName: ['Contoso Ltd', 'Fabrikam', null],
  employeeType: ['Employee', 'Contractor', null],
  extensionAttribute1: ['CC-1001', 'cc-1002', null],
  costCenter: ['North', 'north-east', null],
} as const;
const PROXIES = [
  'SMTP:adele@contoso.com',
  'smtp:a@contoso.onmicrosoft.com',
  'X500:/o=Contoso',
  'sip:adele@contoso.com',
];
const HIRE_DATES = ['2020-01-15T00:00:00Z', '2021-06-30T00:00:00Z', null];

const pick = <T>(values: readonly T[]): fc.Arbitrary<T> => fc.constantFrom(...values);

const userArb = fc.record({
  displayName: pick(POOLS.displayName),
  department: pick(POOLS.department),
  jobTitle: pick(POOLS.jobTitle),
  mail: pick(POOLS.mail),
  city: pick(POOLS.city),
  companyName: pick(POOLS.companyName),
  employeeType: pick(POOLS.employeeType),
  accountEnabled: fc.boolean(),
  employeeHireDate: pick(HIRE_DATES),
  proxyAddresses: fc.subarray(PROXIES),
  extensionAttribute1: pick(POOLS.extensionAttribute1),
  costCenter: pick(POOLS.costCenter),
  level: pick([1, 2, null]),
});
type GeneratedUser = typeof userArb extends fc.Arbitrary<infer U> ? U : never;

/** A name in one of the casings an admin may type (Graph's names are case-insensitive). */
const casing = (name: string): fc.Arbitrary<string> => pick([name, name.toLowerCase(), name.toUpperCase()]);
const quoted = (text: string): string => `'${text.replace(/'/g, "''")}'`;
/** A text literal from the pool or a variation of one (another case, a prefix). */
const textOf = (pool: readonly (string | null)[]): fc.Arbitrary<string> =>
  fc.oneof(
    pick(pool.filter((v): v is string => v !== null)),
    pick(pool.filter((v): v is string => v !== null)).map((v) => v.toUpperCase()),
    fc.constant('nobody'),
  );
const literalOf = (pool: readonly (string | null)[]): fc.Arbitrary<string> =>
  fc.oneof({ arbitrary: textOf(pool).map(quoted), weight: 4 }, { arbitrary: fc.constant('null'), weight: 1 });

const TEXT_PROPERTIES: [string, readonly (string | null)[]][] = [
  ['displayName', POOLS.displayName],
  ['department', POOLS.department],
  ['jobTitle', POOLS.jobTitle],
  ['mail', POOLS.mail],
  ['city', POOLS.city],
  ['companyName', POOLS.companyName],
  ['employeeType', POOLS.employeeType],
  ['onPremisesExtensionAttributes/extensionAttribute1', POOLS.extensionAttribute1],
  [COST_CENTER, POOLS.costCenter],
];

const textLeaf: fc.Arbitrary<string> = pick(TEXT_PROPERTIES).chain(([name, pool]) =>
  fc.oneof(
    fc.tuple(casing(name), pick(['eq', 'ne', 'EQ']), literalOf(pool)).map(([p, op, v]) => `${p} ${op} ${v}`),
    fc
      .tuple(
        casing(name),
        textOf(pool).map((v) => v.slice(0, 3)),
      )
      .map(([p, prefix]) => `startswith(${p},${quoted(prefix)})`),
    fc
      .tuple(casing(name), fc.array(literalOf(pool), { minLength: 1, maxLength: 3 }))
      .map(([p, values]) => `${p} in (${values.join(', ')})`),
  ),
);
const otherLeaf: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(casing('accountEnabled'), pick(['eq', 'ne']), pick(['true', 'false', 'null']))
    .map((p) => p.join(' ')),
  fc.tuple(pick(['eq', 'ne']), pick(['1', '2', 'null'])).map(([op, v]) => `${LEVEL} ${op} ${v}`),
  fc
    .tuple(
      pick(['eq', 'ne']),
      pick(['2020-01-15T00:00:00Z', '2020-01-15T01:00:00+01:00', '2021-06-30T00:00:00Z', 'null']),
    )
    .map(([op, v]) => `employeeHireDate ${op} ${v}`),
  pick(['smtp:', 'SMTP:adele', 'x500:', 'sip:']).map(
    (prefix) => `proxyAddresses/any(p:startswith(p,${quoted(prefix)}))`,
  ),
  pick(PROXIES).map((address) => `proxyAddresses/any(x:x eq ${quoted(address.toLowerCase())})`),
);
const leaf = fc.oneof({ arbitrary: textLeaf, weight: 3 }, { arbitrary: otherLeaf, weight: 1 });

const filterArb: fc.Arbitrary<string> = fc.letrec<{ filter: string }>((tie) => ({
  filter: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc
      .tuple(tie('filter'), pick(['and', 'or', 'AND']), tie('filter'))
      .map(([a, op, b]) => `(${a}) ${op} (${b})`),
    // Without parentheses: `and` binds tighter than `or`.
    fc.tuple(leaf, leaf, leaf).map(([a, b, c]) => `${a} or ${b} and ${c}`),
    tie('filter').map((f) => `not(${f})`),
  ),
})).filter;

let standin: RunningStandin;
let token: string;

beforeAll(async () => {
  standin = await startStandin({ users: 0, seed: 21 });
  token = await graphToken(standin);
});

afterAll(async () => {
  await standin?.stop();
});

function hire(user: GeneratedUser): string {
  return standin.control.hire({
    displayName: user.displayName,
    department: user.department,
    jobTitle: user.jobTitle,
    mail: user.mail,
    city: user.city,
    companyName: user.companyName,
    employeeType: user.employeeType,
    accountEnabled: user.accountEnabled,
    employeeHireDate: user.employeeHireDate,
    proxyAddresses: user.proxyAddresses,
    onPremisesExtensionAttributes: {
      ...EMPTY_EXTENSION_ATTRIBUTES,
      extensionAttribute1: user.extensionAttribute1,
    },
    [COST_CENTER]: user.costCenter,
    [LEVEL]: user.level,
  }).id;
}

/** The ids the stand-in's `$filter` answers, every page followed. */
async function standinIds(filter: string): Promise<Set<string>> {
  const ids = new Set<string>();
  let url: string | undefined =
    `/users?$filter=${encodeURIComponent(filter)}&$count=true&$top=999&$select=id`;
  while (url) {
    const response = await rawCall(standin, token, 'GET', url, { headers: { ConsistencyLevel: 'eventual' } });
    expect(response.status, `${filter}: ${JSON.stringify(response.body)}`).toBe(200);
    const body = response.body as { value: { id: string }[]; '@odata.nextLink'?: string };
    for (const { id } of body.value) ids.add(id);
    url = body['@odata.nextLink'];
  }
  return ids;
}

/** The mirror's reader: a canonical path → the value Graph gives for the user (extensions by lower-case name). */
function readerOf(id: string): (path: string) => unknown {
  const user = standin.control.user(id)!;
  return (path) => {
    if (path.startsWith('extension_'))
      return Object.entries(user).find(([name]) => name.toLowerCase() === path)?.[1];
    const [head, sub] = path.split('.');
    const value = user[head!];
    if (sub === undefined) return value;
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value[sub] : undefined;
  };
}

describe('the local $filter', () => {
  it("agrees with the stand-in's $filter on generated users", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(userArb, { minLength: 1, maxLength: 8 }), filterArb, async (users, text) => {
        const ids = users.map(hire);
        try {
          const parsed = parseUserFilter(text);
          expect(parsed, text).toMatchObject({ ok: true });
          if (!parsed.ok) return;
          const remote = await standinIds(text);
          const local = ids.filter((id) => matchesUserFilter(parsed.filter, readerOf(id)));
          expect(local.sort(), text).toEqual(ids.filter((id) => remote.has(id)).sort());
        } finally {
          for (const id of ids) standin.control.hardDelete(id);
        }
      }),
      { numRuns: 100 },
    );
  });
});
