import { describe, expect, it } from 'vitest';

import { USER_FILTER_POLICY } from '../../../local/standin/graph/directory-routes.js';
import {
  checkFilter,
  evaluateFilter,
  parseFilter,
  readPath,
} from '../../../local/standin/graph/odata-filter.js';

const user: Record<string, unknown> = {
  displayName: "Adele O'Neil",
  mail: 'AdeleV@contoso.com',
  accountEnabled: true,
  department: 'Sales',
  proxyAddresses: ['SMTP:adelev@contoso.com'],
  onPremisesExtensionAttributes: { extensionAttribute1: 'CC-1001' },
  jobTitle: null,
  employeeHireDate: '2020-01-15T00:00:00.000Z',
};
const matches = (filter: string): boolean =>
  evaluateFilter(parseFilter(filter), (p) => readPath((n) => user[n] as never, p));

describe('$filter subset', () => {
  it.each([
    ["startswith(displayName,'adele')", true],
    ["endswith(mail,'@CONTOSO.com')", true],
    ["displayName eq 'Adele O''Neil'", true],
    ["department in ('Sales','Legal') and accountEnabled eq true", true],
    ["not(department eq 'Sales') or mail eq 'x'", false],
    ['jobTitle eq null', true],
    ["department ne 'Sales'", false],
    ["onPremisesExtensionAttributes/extensionAttribute1 eq 'cc-1001'", true],
    ["proxyAddresses eq 'smtp:adelev@contoso.com'", true],
    ["proxyAddresses/any(p:startswith(p,'SMTP:'))", true],
    ["proxyAddresses/any(x:x eq 'smtp:ADELEV@contoso.com')", true],
    ["proxyAddresses/any(p:startswith(p,'x500:'))", false],
    ["not(proxyAddresses/any(p:p eq 'smtp:nobody@contoso.com'))", true],
    ['employeeHireDate eq 2020-01-15T00:00:00Z', true],
    ['employeeHireDate eq 2020-01-15T02:00:00+02:00', true],
    ['employeeHireDate ne 2020-01-15T00:00:01Z', true],
    ['employeeHireDate le 2020-01-14T23:59:59Z', false],
  ])('%s → %s', (filter, expected) => {
    expect(matches(filter)).toBe(expected);
  });

  it('refuses advanced forms without ConsistencyLevel: eventual and $count=true', () => {
    for (const filter of [
      "endswith(mail,'x')",
      "department ne 'x'",
      "not(department eq 'x')",
      "onPremisesExtensionAttributes/extensionAttribute1 eq 'x'",
    ]) {
      expect(() => checkFilter(parseFilter(filter), USER_FILTER_POLICY, false)).toThrow(
        /Try adding \$count=true/,
      );
      expect(() => checkFilter(parseFilter(filter), USER_FILTER_POLICY, true)).not.toThrow();
    }
  });

  it('refuses unknown properties, functions and malformed clauses with Request_UnsupportedQuery', () => {
    expect(() => checkFilter(parseFilter("skills eq 'x'"), USER_FILTER_POLICY, true)).toThrow(
      /Unsupported or invalid query filter clause/,
    );
    expect(() => parseFilter("contains(displayName,'a')")).toThrow(/Unsupported function/);
    expect(() => parseFilter("displayName eq 'unterminated")).toThrow(/unterminated/);
    expect(() => parseFilter('displayName gt 3')).toThrow(/Unsupported operator 'gt'/);
  });
});
