/**
 * Decides which user properties the mirror holds besides the default mapping's (directory.ts
 * MIRRORED_USER_PROPERTIES), so that any mapping or `$filter` is evaluated on the mirror with no new
 * delta token and no Graph call; and which properties need a pass of their own because delta does
 * not track them.
 *
 * Chosen from Graph v1.0's user resource: every property stored in Entra ID (so `/users/delta`
 * tracks it) that an admin may want to map. Left out: the properties stored in SharePoint Online
 * (aboutMe, birthday, hireDate, interests, mySite, pastProjects, preferredName, responsibilities,
 * schools, skills: `$select` of them on a list is a 501 and delta does not track them), mailbox
 * settings, sign-in activity, licences and plans, password data and token validity times (not
 * profile data), employeeLeaveDateTime (needs User-LifeCycleInfo.Read.All), and
 * customSecurityAttributes (not tracked by delta, and needs CustomSecAttributeAssignment.Read.All:
 * read by its own pass, see src/usecases/read-security-attributes.ts).
 */
import type { Policy } from './policy.js';

/** Selected on `/users/delta` and kept in `UserFacts.more` (by Graph name; absent there = null). */
export const MIRRORED_MORE_PROPERTIES = [
  'ageGroup',
  'businessPhones',
  'city',
  'companyName',
  'consentProvidedForMinor',
  'country',
  'createdDateTime',
  'creationType',
  'employeeOrgData',
  'employeeType',
  'externalUserState',
  'faxNumber',
  'imAddresses',
  'mailNickname',
  'mobilePhone',
  'onPremisesDistinguishedName',
  'onPremisesDomainName',
  'onPremisesImmutableId',
  'onPremisesLastSyncDateTime',
  'onPremisesSamAccountName',
  'onPremisesSecurityIdentifier',
  'onPremisesSyncEnabled',
  'onPremisesUserPrincipalName',
  'otherMails',
  'postalCode',
  'preferredLanguage',
  'showInAddressList',
  'state',
  'streetAddress',
  'usageLocation',
] as const;

export type MirroredMoreProperty = (typeof MIRRORED_MORE_PROPERTIES)[number];

/** Selected too, kept in `UserFacts.onPremisesExtensionAttributes` (extensionAttribute1…15). */
export const EXTENSION_ATTRIBUTES_PROPERTY = 'onPremisesExtensionAttributes';

/** A directory extension property: `extension_<appId without dashes>_<name>`. */
export const DIRECTORY_EXTENSION_PATTERN = /^extension_[0-9a-f]{32}_[A-Za-z0-9_]+$/;

/** The permission Graph requires to read custom security attributes. */
export const SECURITY_ATTRIBUTES_PERMISSION = 'CustomSecAttributeAssignment.Read.All';

/** Hours between two security-attribute passes of a connection on a schedule (README: staleness). */
export const SECURITY_ATTRIBUTES_MAX_AGE_HOURS = 6;

const EXTENSION_IN_TEXT = /\bextension_[0-9a-f]{32}_[A-Za-z0-9_]+/g;

/**
 * The directory extensions the policy names (mapping sources and the scope `$filter`), sorted and
 * unique, so the same policy always gives the same `$select`.
 */
export function directoryExtensionsOf(policy: Policy): string[] {
  const names = new Set<string>();
  for (const mapping of policy.mappings) {
    if (DIRECTORY_EXTENSION_PATTERN.test(mapping.source)) names.add(mapping.source);
  }
  for (const match of policy.scope.filter?.matchAll(EXTENSION_IN_TEXT) ?? []) names.add(match[0]);
  return [...names].sort();
}

/** True when a mapping (or the scope `$filter`) reads a custom security attribute. */
export function usesSecurityAttributes(policy: Policy): boolean {
  return (
    policy.mappings.some((mapping) => mapping.source.startsWith('customSecurityAttributes.')) ||
    /\bcustomSecurityAttributes\//i.test(policy.scope.filter ?? '')
  );
}

/**
 * Every property the user delta query selects, after the default mapping's own: the fixed list, the
 * on-premises extension attributes, then the policy's directory extensions. A change of this list
 * (a mapping naming a new directory extension) needs a full round: a delta link keeps the `$select`
 * it was made with.
 */
export function mirroredSelectExtras(directoryExtensions: readonly string[]): string[] {
  const valid = directoryExtensions.filter((name) => DIRECTORY_EXTENSION_PATTERN.test(name));
  return [...MIRRORED_MORE_PROPERTIES, EXTENSION_ATTRIBUTES_PROPERTY, ...new Set(valid)];
}
