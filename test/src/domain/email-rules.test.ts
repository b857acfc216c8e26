import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { passesEmailRules } from '../../../src/domain/email-rules.js';

const fragment = fc.oneof(
  fc.constantFrom('contoso', '@Fabrikam.com', 'ADELE', 'sales.', '#ext#'),
  fc.string({ minLength: 1, maxLength: 4 }),
);
const address = fc.option(
  fc.oneof(fc.emailAddress(), fc.constantFrom('Adele@Contoso.com', 'x_fabrikam.com#EXT#@contoso.com')),
  { nil: null },
);
const rulesArb = fc.record({
  include: fc.array(fragment, { maxLength: 3 }),
  exclude: fc.array(fragment, { maxLength: 3 }),
});

/** The oracle: one rule matches when its text, upper-cased, occurs in either address upper-cased. */
const hit = (rule: string, mail: string | null, upn: string | null): boolean =>
  [mail, upn].some((a) => a !== null && a.toUpperCase().includes(rule.toUpperCase()));

describe('passesEmailRules', () => {
  it('matches contained text in mail or UPN in any case; no include rule lets everyone in; exclude wins', () => {
    expect(passesEmailRules({ include: [], exclude: [] }, null, null)).toBe(true);
    expect(passesEmailRules({ include: ['CONTOSO'], exclude: [] }, null, 'adele@contoso.com')).toBe(true);
    expect(passesEmailRules({ include: ['contoso'], exclude: [] }, 'adele@fabrikam.com', null)).toBe(false);
    expect(passesEmailRules({ include: ['contoso'], exclude: ['adele'] }, 'Adele@contoso.com', null)).toBe(
      false,
    );
    expect(passesEmailRules({ include: [], exclude: ['#EXT#'] }, null, 'a_b.com#ext#@contoso.com')).toBe(
      false,
    );
  });

  it('passes exactly when no exclude rule hits and (no include rule, or one hits)', () => {
    fc.assert(
      fc.property(rulesArb, address, address, (rules, mail, upn) => {
        const expected =
          !rules.exclude.some((r) => hit(r, mail, upn)) &&
          (rules.include.length === 0 || rules.include.some((r) => hit(r, mail, upn)));
        expect(passesEmailRules(rules, mail, upn)).toBe(expected);
      }),
      { numRuns: 1000 },
    );
  });

  it('an exclude rule that matches always wins over any include rule', () => {
    fc.assert(
      fc.property(
        rulesArb,
        fc.emailAddress(),
        fc.option(fc.emailAddress(), { nil: null }),
        (rules, mail, upn) => {
          const rule = mail.slice(1).toUpperCase();
          const include = [...rules.include, mail];
          expect(passesEmailRules({ include, exclude: [...rules.exclude, rule] }, mail, upn)).toBe(false);
          expect(passesEmailRules({ include, exclude: [...rules.exclude, rule] }, upn, mail)).toBe(false);
        },
      ),
    );
  });
});
