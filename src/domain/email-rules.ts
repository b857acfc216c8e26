/**
 * The scope's email rules: contains-text rules, case-insensitive, on a user's mail and userPrincipalName.
 * No include rule = everyone passes the include side; any exclude match refuses the user (exclude wins).
 */
export interface EmailRules {
  readonly include: readonly string[];
  readonly exclude: readonly string[];
}

function anyContains(texts: readonly string[], haystacks: readonly string[]): boolean {
  return texts.some((rule) => {
    const needle = rule.toLowerCase();
    return haystacks.some((h) => h.includes(needle));
  });
}

export function passesEmailRules(
  rules: EmailRules,
  mail: string | null,
  userPrincipalName: string | null,
): boolean {
  const haystacks = [mail, userPrincipalName]
    .filter((v): v is string => v !== null)
    .map((v) => v.toLowerCase());
  if (anyContains(rules.exclude, haystacks)) return false;
  return rules.include.length === 0 || anyContains(rules.include, haystacks);
}
