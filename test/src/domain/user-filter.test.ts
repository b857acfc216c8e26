import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  type FilterParse,
  formatUserFilter,
  matchesUserFilter,
  parseUserFilter,
  pathsOfUserFilter,
  type UserFilter,
} from '../../../src/domain/user-filter.js';

const EXT = 'extension_0123456789abcdef0123456789abcdef_costCenter';
const adele: Record<string, unknown> = {
  displayName: "Adele O'Neil",
  mail: 'AdeleV@contoso.com',
  accountEnabled: true,
  department: 'Sales',
  jobTitle: null,
  employeeHireDate: '2020-01-15T00:00:00Z',
  proxyAddresses: ['SMTP:adelev@contoso.com', 'smtp:adele@contoso.onmicrosoft.com'],
  'onPremisesExtensionAttributes.extensionAttribute1': 'CC-1001',
  [EXT.toLowerCase()]: 1001,
};

function parsed(text: string): UserFilter {
  const result = parseUserFilter(text);
  if (!result.ok) throw new Error(`${text}: ${result.reason} at ${result.position}`);
  return result.filter;
}
const matchesAdele = (text: string): boolean => matchesUserFilter(parsed(text), (path) => adele[path]);

describe('parseUserFilter and matchesUserFilter', () => {
  it.each([
    ["startswith(displayName,'adele')", true],
    ["StartsWith(DISPLAYNAME, 'ADELE o''n')", true],
    ["displayName eq 'adele o''neil'", true],
    ["department in ('Legal', 'sales') and accountEnabled eq true", true],
    ["not(department eq 'Sales') or mail eq 'x'", false],
    ["mail eq 'x' or department eq 'sales' and accountEnabled eq false", false],
    ["(mail eq 'x' or department eq 'sales') and not(accountEnabled eq false)", true],
    ['jobTitle eq null', true],
    ['jobTitle ne null', false],
    ["jobTitle ne 'Boss'", true],
    ["jobTitle in ('Boss', null)", true],
    ["startswith(jobTitle,'')", false],
    ['city eq null', true],
    ["department ne 'Sales'", false],
    ["onPremisesExtensionAttributes/extensionAttribute1 eq 'cc-1001'", true],
    ["onpremisesextensionattributes/EXTENSIONATTRIBUTE1 in ('x', 'CC-1001')", true],
    [`${EXT} eq 1001`, true],
    [`${EXT.toUpperCase().replace('EXTENSION_', 'Extension_')} ne 1001`, false],
    ["proxyAddresses/any(p:startswith(p,'SMTP:adele@'))", true],
    ["proxyAddresses/any(x:x eq 'smtp:ADELEV@contoso.com')", true],
    ["not(proxyAddresses/any(p:startswith(p,'x500:')))", true],
    ['employeeHireDate eq 2020-01-15T01:00:00+01:00', true],
    ['employeeHireDate ne 2020-01-15T00:00:00Z', false],
  ])('%s → %s', (text, expected) => {
    expect(matchesAdele(text)).toBe(expected);
  });

  it('reads canonical paths: Graph casing, extension attributes with a dot, directory extensions by name', () => {
    const filter = parsed(
      `DEPARTMENT eq 'x' or onPremisesExtensionAttributes/extensionAttribute15 eq 'y' or ${EXT} eq 'z' or proxyaddresses/any(a:a eq 'q')`,
    );
    expect([...pathsOfUserFilter(filter)].sort()).toEqual(
      [
        'department',
        'onPremisesExtensionAttributes.extensionAttribute15',
        EXT.toLowerCase(),
        'proxyAddresses',
      ].sort(),
    );
    const read: string[] = [];
    matchesUserFilter(filter, (path) => void read.push(path));
    expect(read).toContain('department');
  });

  it.each([
    ["endswith(mail,'@contoso.com')", 0, /endswith.*not supported/],
    ["displayName gt 'a'", 12, /operator 'gt' is not supported/],
    ['employeeHireDate ge 2020-01-01T00:00:00Z', 17, /operator 'ge'/],
    ["skills eq 'x'", 0, /unknown user property 'skills'/],
    ['proxyAddresses/$count eq 0', 15, /'\$count' is not supported/],
    ['accountEnabled eq true and $count eq 1', 27, /'\$count'/],
    ["accountEnabled eq 'true'", 18, /accountEnabled takes true, false or null/],
    ['department eq 3', 14, /department takes a text/],
    ["proxyAddresses eq 'smtp:a@b.com'", 0, /collection: use proxyAddresses\/any/],
    ["startswith(accountEnabled,'t')", 11, /startswith needs a text property/],
    ["displayName eq 'open", 15, /not closed/],
    ["displayName eq 'a' xor mail eq 'b'", 19, /expected 'and', 'or'/],
    ["(displayName eq 'a'", 19, /expected '\)'/],
    ["not displayName eq 'a'", 4, /write not\(/],
    ["contains(displayName,'a')", 0, /contains.*not supported/],
    ["onPremisesExtensionAttributes/extensionAttribute16 eq 'x'", 0, /unknown user property/],
    ["extension_123_costCenter eq 'x'", 0, /unknown user property/],
    ["customSecurityAttributes/Engineering/Project eq 'x'", 0, /custom security attributes/],
    ["proxyAddresses/all(p:startswith(p,'smtp:'))", 0, /'all' is not supported/],
    ["proxyAddresses/any(p:endswith(p,'x'))", 21, /only p eq/],
    ['employeeHireDate eq 2020-01-15', 20, /T00:00:00Z/],
    ['', 0, /empty/],
    ["mail eq 'a' and", 15, /expected a property/],
    ['department in ()', 15, /expected a value/],
  ])('refuses %s at %i', (text, position, reason) => {
    const result = parseUserFilter(text);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toMatch(reason);
      expect(result.position).toBe(position);
    }
  });

  it('never throws on any text; a refusal points inside the text', () => {
    const pieces = fc.constantFrom(
      'displayName',
      'eq',
      'ne',
      'in',
      'and',
      'or',
      'not',
      '(',
      ')',
      ',',
      "'a'",
      "'",
      "''",
      'null',
      'true',
      '3',
      'startswith',
      'proxyAddresses/any',
      ':',
      'p',
      ' ',
      '$count',
      'gt',
      '2020-01-15T00:00:00Z',
      'extension_',
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.array(pieces, { maxLength: 12 }).map((p) => p.join(' ')),
        ),
        (text) => {
          const result: FilterParse = parseUserFilter(text);
          if (!result.ok) {
            expect(result.position).toBeGreaterThanOrEqual(0);
            expect(result.position).toBeLessThanOrEqual(text.length);
            expect(result.reason.length).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('refuses a filter nested too deep instead of overflowing the stack', () => {
    const deep = `${'not('.repeat(5_000)}mail eq null${')'.repeat(5_000)}`;
    const result = parseUserFilter(deep);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(/deeper than 64 levels/);
  });

  it('the formatted filter parses back to the same filter', () => {
    const leaf = fc.oneof(
      fc.record({
        kind: fc.constantFrom('eq' as const, 'ne' as const),
        path: fc.constantFrom('department', 'mail'),
        value: fc.option(fc.string({ maxLength: 5 }), { nil: null }),
      }),
      fc.record({
        kind: fc.constant('eq' as const),
        path: fc.constant('accountEnabled'),
        value: fc.boolean(),
      }),
      fc.record({
        kind: fc.constant('in' as const),
        path: fc.constant('city'),
        values: fc.array(fc.string({ maxLength: 4 }), { minLength: 1, maxLength: 3 }),
      }),
      fc.record({
        kind: fc.constant('startswith' as const),
        path: fc.constant('onPremisesExtensionAttributes.extensionAttribute3'),
        prefix: fc.string({ maxLength: 4 }),
      }),
      fc.record({
        kind: fc.constant('any' as const),
        path: fc.constant('proxyAddresses'),
        predicate: fc.oneof(
          fc.record({ op: fc.constant('eq' as const), value: fc.string({ maxLength: 4 }) }),
          fc.record({ op: fc.constant('startswith' as const), prefix: fc.string({ maxLength: 4 }) }),
        ),
      }),
    );
    const tree = fc.letrec<{ node: UserFilter }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc.record({
          kind: fc.constantFrom('and' as const, 'or' as const),
          left: tie('node'),
          right: tie('node'),
        }),
        fc.record({ kind: fc.constant('not' as const), operand: tie('node') }),
      ),
    }));
    fc.assert(
      fc.property(tree.node, (filter) => {
        expect(parseUserFilter(formatUserFilter(filter))).toEqual({ ok: true, filter });
      }),
      { numRuns: 1000 },
    );
  });
});
