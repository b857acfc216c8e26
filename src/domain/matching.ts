/**
 * Matching, before a person's first link: an Entra user not yet linked is matched to a person the app
 * created by hand through normalized email addresses, in priority order (mail, then UPN, then the smtp
 * proxyAddresses). Never a guess: two candidates, or two users wanting one person, make a dispute.
 */

export interface MatchFacts {
  readonly mail: string | null;
  readonly userPrincipalName: string | null;
  readonly proxyAddresses: readonly string[];
}

/** An address as matching compares it: trimmed and lower-cased ('' = none). */
export function normalizeEmail(address: string): string {
  return address.trim().toLowerCase();
}

const SMTP = /^smtp:/i;

/**
 * A user's match keys in priority order: mail, UPN, then every `smtp:`/`SMTP:` proxy address (prefix
 * removed) in the order Graph gives them; normalized, empties dropped, each key once (first place kept).
 */
export function matchKeysOf(facts: MatchFacts): string[] {
  const raw: string[] = [];
  if (facts.mail !== null) raw.push(facts.mail);
  if (facts.userPrincipalName !== null) raw.push(facts.userPrincipalName);
  for (const proxy of facts.proxyAddresses) {
    const trimmed = proxy.trim();
    if (SMTP.test(trimmed)) raw.push(trimmed.slice('smtp:'.length));
  }
  const keys: string[] = [];
  for (const address of raw) {
    const key = normalizeEmail(address);
    if (key !== '' && !keys.includes(key)) keys.push(key);
  }
  return keys;
}

export type MatchDecision =
  | { kind: 'link'; personId: string; key: string }
  | { kind: 'create' }
  | { kind: 'dispute'; candidates: string[] };

export interface MatchRequest {
  readonly userId: string;
  /** Normalized keys in priority order (`matchKeysOf`). */
  readonly keys: readonly string[];
}

/**
 * One decision per user. The first key (in priority order) that has candidates decides: one distinct
 * person → link, two or more → dispute naming them (sorted). No key with candidates → create. Across the
 * batch a person is linked to one user at most: when several users would link the same person, none
 * does and each gets a dispute naming that person. The result does not depend on the users' order.
 * Throws on a userId given twice (a caller's bug).
 */
export function assignMatches(
  users: readonly MatchRequest[],
  candidates: ReadonlyMap<string, readonly string[]>,
): Map<string, MatchDecision> {
  const decisions = new Map<string, MatchDecision>();
  const claims = new Map<string, number>();
  for (const user of users) {
    if (decisions.has(user.userId)) throw new Error(`assignMatches: user ${user.userId} given twice.`);
    let decision: MatchDecision = { kind: 'create' };
    for (const key of user.keys) {
      const people = [...new Set(candidates.get(key) ?? [])].sort();
      if (people.length === 0) continue;
      decision =
        people.length === 1
          ? { kind: 'link', personId: people[0]!, key }
          : { kind: 'dispute', candidates: people };
      break;
    }
    if (decision.kind === 'link') claims.set(decision.personId, (claims.get(decision.personId) ?? 0) + 1);
    decisions.set(user.userId, decision);
  }
  for (const [userId, decision] of decisions) {
    if (decision.kind === 'link' && claims.get(decision.personId)! > 1)
      decisions.set(userId, { kind: 'dispute', candidates: [decision.personId] });
  }
  return decisions;
}
