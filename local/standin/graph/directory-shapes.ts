/**
 * How users and groups look on the wire: Graph's default property sets, `$select` validation and
 * projection, and the `@odata.type` names.
 */
import { TenantError } from '../tenant/tenant-store.js';
import { type GroupEntry, type JsonObject, type JsonValue, text, type UserEntry } from '../tenant/types.js';

export const USER_TYPE = '#microsoft.graph.user';
export const GROUP_TYPE = '#microsoft.graph.group';

export const DEFAULT_USER_PROPERTIES = [
  'businessPhones',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
  'id',
] as const;

export const DEFAULT_GROUP_PROPERTIES = [
  'id',
  'createdDateTime',
  'deletedDateTime',
  'description',
  'displayName',
  'groupTypes',
  'mail',
  'mailEnabled',
  'mailNickname',
  'securityEnabled',
  'visibility',
] as const;

export const DEFAULT_GROUP_DELTA_PROPERTIES = [
  'createdDateTime',
  'description',
  'displayName',
  'groupTypes',
  'mail',
  'id',
];

/** Graph v1.0 user properties stored in Entra ID that the stand-in serves (`null` when unset). */
const KNOWN_USER_PROPERTIES = new Set([
  'id',
  'accountEnabled',
  'ageGroup',
  'businessPhones',
  'city',
  'companyName',
  'consentProvidedForMinor',
  'country',
  'createdDateTime',
  'creationType',
  'customSecurityAttributes',
  'deletedDateTime',
  'department',
  'displayName',
  'employeeHireDate',
  'employeeId',
  'employeeOrgData',
  'employeeType',
  'externalUserState',
  'faxNumber',
  'givenName',
  'identities',
  'imAddresses',
  'jobTitle',
  'mail',
  'mailNickname',
  'mobilePhone',
  'officeLocation',
  'onPremisesDistinguishedName',
  'onPremisesDomainName',
  'onPremisesExtensionAttributes',
  'onPremisesImmutableId',
  'onPremisesLastSyncDateTime',
  'onPremisesSamAccountName',
  'onPremisesSecurityIdentifier',
  'onPremisesSyncEnabled',
  'onPremisesUserPrincipalName',
  'otherMails',
  'postalCode',
  'preferredLanguage',
  'proxyAddresses',
  'showInAddressList',
  'state',
  'streetAddress',
  'surname',
  'usageLocation',
  'userPrincipalName',
  'userType',
]);

/** Properties Graph stores outside the directory: not selectable on lists and not tracked by delta. */
const NOT_IMPLEMENTED_USER_PROPERTIES = new Set([
  'aboutme',
  'birthday',
  'hiredate',
  'interests',
  'mysite',
  'pastprojects',
  'preferredname',
  'responsibilities',
  'schools',
  'skills',
]);

const KNOWN_GROUP_PROPERTIES = new Set([...DEFAULT_GROUP_PROPERTIES, 'members']);

export const CUSTOM_SECURITY_ATTRIBUTES_PERMISSION = 'CustomSecAttributeAssignment.Read.All';

export function parseSelect(raw: string | null): string[] | null {
  if (raw === null || raw.trim() === '') return null;
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Validates a user `$select` (case-insensitive names, canonicalised); `relationships` lists e.g. `manager`. */
export function validateUserSelect(
  select: string[] | null,
  user: UserEntry | undefined,
  roles: readonly string[],
  relationships: readonly string[] = [],
): string[] | null {
  if (select === null) return null;
  const result: string[] = [];
  for (const name of select) {
    const lower = name.toLowerCase();
    if (NOT_IMPLEMENTED_USER_PROPERTIES.has(lower)) {
      throw new TenantError(501, 'NotImplemented', 'This operation target is not yet supported.');
    }
    const known =
      [...KNOWN_USER_PROPERTIES, ...relationships].find((p) => p.toLowerCase() === lower) ??
      (lower.startsWith('extension_') ? name : undefined) ??
      (user && name in user.props ? name : undefined);
    if (!known) {
      throw new TenantError(
        400,
        'Request_BadRequest',
        `Could not find a property named '${name}' on type 'microsoft.graph.user'.`,
      );
    }
    if (known === 'customSecurityAttributes' && !roles.includes(CUSTOM_SECURITY_ATTRIBUTES_PERMISSION)) {
      throw new TenantError(
        403,
        'Authorization_RequestDenied',
        'Insufficient privileges to complete the operation.',
      );
    }
    if (!result.includes(known)) result.push(known);
  }
  return result;
}

export function validateGroupSelect(select: string[] | null): string[] | null {
  if (select === null) return null;
  return select.map((name) => {
    const known = [...KNOWN_GROUP_PROPERTIES].find((p) => p.toLowerCase() === name.toLowerCase());
    if (!known) {
      throw new TenantError(
        400,
        'Request_BadRequest',
        `Could not find a property named '${name}' on type 'microsoft.graph.group'.`,
      );
    }
    return known;
  });
}

/** The value of a user property as Graph returns it (`null` when unset). */
export function userProperty(user: UserEntry, name: string): JsonValue {
  if (name === 'id') return user.id;
  if (name === 'identities') {
    const upn = text(user.props.userPrincipalName);
    return [{ signInType: 'userPrincipalName', issuer: upn.split('@')[1] ?? '', issuerAssignedId: upn }];
  }
  return user.props[name] ?? null;
}

/** A user with the selected properties (default set when none), `id` always included (last when not selected). */
export function projectUser(user: UserEntry, select: readonly string[] | null): JsonObject {
  const names = (select ?? DEFAULT_USER_PROPERTIES).filter((n) => n !== 'manager');
  const result: JsonObject = {};
  for (const name of names) result[name] = userProperty(user, name);
  if (!('id' in result)) result.id = user.id;
  return result;
}

export function groupProperty(group: GroupEntry, name: string): JsonValue {
  if (name === 'id') return group.id;
  return group.props[name] ?? null;
}

export function projectGroup(
  group: GroupEntry,
  select: readonly string[] | null,
  defaults: readonly string[] = DEFAULT_GROUP_PROPERTIES,
): JsonObject {
  const names = (select ?? defaults).filter((n) => n !== 'members');
  const result: JsonObject = {};
  for (const name of names) result[name] = groupProperty(group, name);
  if (!('id' in result)) result.id = group.id;
  return result;
}

/** `@odata.context` for a collection, e.g. `…/$metadata#users(displayName,id)`. */
export function contextUrl(baseUrl: string, entitySet: string, select: readonly string[] | null): string {
  const shown = select?.filter((s) => s !== 'manager' && s !== 'members') ?? [];
  return `${baseUrl}/$metadata#${entitySet}${shown.length > 0 ? `(${shown.join(',')})` : ''}`;
}
