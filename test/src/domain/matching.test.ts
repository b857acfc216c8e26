import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { assignMatches, type MatchDecision, matchKeysOf } from '../../../src/domain/matching.js';

const emails = ['a@contoso.com', 'b@contoso.com', 'c@contoso.com', 'd@contoso.com', 'e@contoso.com'];
const people = ['p1', 'p2', 'p3', 'p4'];

const usersArb = fc.uniqueArray(
  fc.record({
    userId: fc.constantFrom('u1', 'u2', 'u3', 'u4', 'u5', 'u6'),
    keys: fc.uniqueArray(fc.constantFrom(...emails), { maxLength: 3 }),
  }),
  { selector: (u) => u.userId, maxLength: 6 },
);
const candidatesArb = fc
  .array(fc.tuple(fc.constantFrom(...emails), fc.array(fc.constantFrom(...people), { maxLength: 3 })), {
    maxLength: 5,
  })
  .map((entries) => new Map(entries));

const sortedEntries = (m: Map<string, MatchDecision>): [string, MatchDecision][] =>
  [...m.entries()].sort(([a], [b]) => a.localeCompare(b));

describe('matchKeysOf', () => {
  it('gives mail, UPN, then smtp proxy addresses (either prefix case), trimmed, lower-cased, each once', () => {
    expect(
      matchKeysOf({
        mail: ' Adele@Contoso.com ',
        userPrincipalName: 'adele@contoso.com',
        proxyAddresses: [
          'X500:/o=x',
          'smtp:Adele.V@contoso.com',
          ' SMTP:AV@Contoso.com',
          'SIP:av@contoso.com',
          'smtp:',
        ],
      }),
    ).toEqual(['adele@contoso.com', 'adele.v@contoso.com', 'av@contoso.com']);
    expect(matchKeysOf({ mail: null, userPrincipalName: '  ', proxyAddresses: [] })).toEqual([]);
  });

  it('keys are normalized, unique, and keep the priority order of their first occurrence', () => {
    const address = fc.oneof(fc.emailAddress(), fc.constantFrom(' A@B.com', 'a@b.COM ', ''));
    fc.assert(
      fc.property(
        fc.option(address, { nil: null }),
        fc.option(address, { nil: null }),
        fc.array(fc.tuple(fc.constantFrom('smtp:', 'SMTP:', 'sMtP:', 'x500:', ''), address), {
          maxLength: 4,
        }),
        (mail, upn, proxies) => {
          const keys = matchKeysOf({
            mail,
            userPrincipalName: upn,
            proxyAddresses: proxies.map(([p, a]) => p + a),
          });
          expect(new Set(keys).size).toBe(keys.length);
          for (const key of keys) expect(key).toBe(key.trim().toLowerCase());
          const expected = [
            mail,
            upn,
            ...proxies.filter(([p]) => p.toLowerCase() === 'smtp:').map(([, a]) => a),
          ]
            .filter((a): a is string => a !== null)
            .map((a) => a.trim().toLowerCase())
            .filter((a, i, all) => a !== '' && all.indexOf(a) === i);
          expect(keys).toEqual(expected);
        },
      ),
    );
  });
});

describe('assignMatches', () => {
  it('links one candidate, disputes two, creates with none, and never gives one person to two users', () => {
    const candidates = new Map([
      ['a@x.com', ['p1']],
      ['b@x.com', ['p2', 'p3']],
      ['c@x.com', ['p4']],
    ]);
    const result = assignMatches(
      [
        { userId: 'u1', keys: ['zz@x.com', 'a@x.com', 'b@x.com'] },
        { userId: 'u2', keys: ['b@x.com', 'a@x.com'] },
        { userId: 'u3', keys: ['none@x.com'] },
        { userId: 'u4', keys: ['c@x.com'] },
        { userId: 'u5', keys: ['c@x.com'] },
      ],
      candidates,
    );
    expect(Object.fromEntries(result)).toEqual({
      u1: { kind: 'link', personId: 'p1', key: 'a@x.com' },
      u2: { kind: 'dispute', candidates: ['p2', 'p3'] },
      u3: { kind: 'create' },
      u4: { kind: 'dispute', candidates: ['p4'] },
      u5: { kind: 'dispute', candidates: ['p4'] },
    });
  });

  it('never links two users to one person, nor one user to two people, and decides every user', () => {
    fc.assert(
      fc.property(usersArb, candidatesArb, (users, candidates) => {
        const result = assignMatches(users, candidates);
        expect([...result.keys()].sort()).toEqual(users.map((u) => u.userId).sort());
        const linked = [...result.values()].flatMap((d) => (d.kind === 'link' ? [d.personId] : []));
        expect(new Set(linked).size).toBe(linked.length);
      }),
      { numRuns: 1000 },
    );
  });

  it('a link is the single candidate of the first key with candidates; a dispute never links', () => {
    fc.assert(
      fc.property(usersArb, candidatesArb, (users, candidates) => {
        const result = assignMatches(users, candidates);
        for (const user of users) {
          const decision = result.get(user.userId)!;
          const first = user.keys.find((k) => (candidates.get(k) ?? []).length > 0);
          if (first === undefined) expect(decision).toEqual({ kind: 'create' });
          else if (decision.kind === 'link') {
            expect(decision.key).toBe(first);
            expect(new Set(candidates.get(first))).toEqual(new Set([decision.personId]));
          } else {
            expect(decision.kind).toBe('dispute');
            if (decision.kind === 'dispute') {
              expect(decision.candidates.length).toBeGreaterThan(0);
              for (const p of decision.candidates) expect(candidates.get(first)).toContain(p);
            }
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('decides the same whatever the order of the users and of the candidates', () => {
    fc.assert(
      fc.property(
        usersArb.chain((users) =>
          fc.tuple(fc.constant(users), fc.shuffledSubarray(users, { minLength: users.length })),
        ),
        candidatesArb,
        ([users, shuffled], candidates) => {
          const reversed = new Map([...candidates].reverse().map(([k, v]) => [k, [...v].reverse()]));
          expect(sortedEntries(assignMatches(shuffled, reversed))).toEqual(
            sortedEntries(assignMatches(users, candidates)),
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});
