/**
 * Graph's directory reads: users (list, by id or UPN, manager, photo), groups (list, by id), direct and
 * transitive members with the OData casts.
 */
import type { RouteTable, StandinRequest, StandinResponse } from '../http/route-table.js';
import { TenantError, type TenantStore } from '../tenant/tenant-store.js';
import type { GroupEntry, JsonObject, JsonValue, UserEntry } from '../tenant/types.js';
import {
  contextUrl,
  GROUP_TYPE,
  groupProperty,
  parseSelect,
  projectGroup,
  projectUser,
  USER_TYPE,
  userProperty,
  validateGroupSelect,
  validateUserSelect,
} from './directory-shapes.js';
import {
  expandedManager,
  type ManagerExpand,
  parseManagerExpand,
  selectWithExpand,
} from './expand-manager.js';
import { collectionBody, pageOver, parseListQuery } from './list-query.js';
import type { FilterPolicy } from './odata-filter.js';
import { photoBytes, photoContentType, photoMetadata } from './user-photo.js';

export const USER_READ_ROLES = [
  'User.Read.All',
  'User.ReadBasic.All',
  'User.ReadWrite.All',
  'Directory.Read.All',
];
export const GROUP_READ_ROLES = [
  'GroupMember.Read.All',
  'Group.Read.All',
  'Group.ReadWrite.All',
  'Directory.Read.All',
];

export const USER_FILTER_POLICY: FilterPolicy = {
  resource: 'User',
  filterable: [
    'id',
    'userprincipalname',
    'mail',
    'displayname',
    'givenname',
    'surname',
    'jobtitle',
    'department',
    'officelocation',
    'employeeid',
    'usertype',
    'accountenabled',
    'companyname',
    'city',
    'country',
    'employeetype',
    'employeehiredate',
    'usagelocation',
    'proxyaddresses',
    'onpremisesextensionattributes/*',
  ],
  advancedProperties: [
    'onpremisesextensionattributes/*',
    'employeehiredate',
    'officelocation',
    'employeetype',
  ],
};

export const GROUP_FILTER_POLICY: FilterPolicy = {
  resource: 'Group',
  filterable: ['id', 'displayname', 'mailnickname', 'securityenabled', 'mailenabled', 'mail', 'grouptypes'],
  advancedProperties: [],
};

const MEMBER_FILTER_POLICY: FilterPolicy = {
  resource: 'DirectoryObject',
  filterable: [...new Set([...USER_FILTER_POLICY.filterable, ...GROUP_FILTER_POLICY.filterable])],
  advancedProperties: USER_FILTER_POLICY.advancedProperties,
};

const ORDERABLE = ['displayName', 'userPrincipalName'];

export interface DirectoryRouteDeps {
  readonly store: TenantStore;
}

const lowerNames = new Map<string, string>();
/** Reads a property by its name in any casing (Graph's names are case-insensitive). */
export function readUser(user: UserEntry, name: string): JsonValue | undefined {
  if (name === 'id' || name in user.props) return userProperty(user, name);
  const lower = name.toLowerCase();
  if (lower === 'id') return user.id;
  let canonical = lowerNames.get(lower);
  if (canonical === undefined) {
    canonical = Object.keys(user.props).find((k) => k.toLowerCase() === lower) ?? name;
    lowerNames.set(lower, canonical);
  }
  return userProperty(user, canonical);
}

export function readGroup(group: GroupEntry, name: string): JsonValue | undefined {
  const key =
    name === 'id' || name in group.props
      ? name
      : (Object.keys(group.props).find((k) => k.toLowerCase() === name.toLowerCase()) ?? name);
  return groupProperty(group, key);
}

export function registerDirectoryRoutes(routes: RouteTable, deps: DirectoryRouteDeps): void {
  const { store } = deps;
  const users = { anyOfRoles: USER_READ_ROLES };
  const groups = { anyOfRoles: GROUP_READ_ROLES };

  routes.add(
    'GET',
    '/users',
    (req) => {
      const select = validateUserSelect(
        parseSelect(req.query.get('$select')),
        undefined,
        req.token?.roles ?? [],
      );
      const expand = parseManagerExpand(req, false);
      const query = parseListQuery(req, USER_FILTER_POLICY, ORDERABLE, { expandable: true });
      const page = pageOver(store.userOrder, query, (u) => u.state === 'active', readUser);
      return ok(
        collectionBody(
          req,
          contextUrl(req.baseUrl, 'users', selectWithExpand(select, expand)),
          page,
          page.items.map((u) => withManager(store, u, projectUser(u, select), expand)),
        ),
      );
    },
    users,
  );

  routes.add(
    'GET',
    '/users/{id}',
    (req, params) => {
      const user = store.requireUser(params.id!);
      const select = validateUserSelect(parseSelect(req.query.get('$select')), user, req.token?.roles ?? []);
      const expand = parseManagerExpand(req, true);
      return ok({
        '@odata.context': `${contextUrl(req.baseUrl, 'users', selectWithExpand(select, expand))}/$entity`,
        ...withManager(store, user, projectUser(user, select), expand),
      });
    },
    users,
  );

  routes.add(
    'GET',
    '/users/{id}/manager',
    (req, params) => {
      const user = store.requireUser(params.id!);
      const manager = user.managerId ? store.findUser(user.managerId) : undefined;
      if (!manager)
        throw new TenantError(
          404,
          'Request_ResourceNotFound',
          `Resource 'manager' does not exist or one of its queried reference-property objects are not present.`,
        );
      const select = validateUserSelect(
        parseSelect(req.query.get('$select')),
        manager,
        req.token?.roles ?? [],
      );
      return ok({
        '@odata.context': `${req.baseUrl}/$metadata#directoryObjects/$entity`,
        '@odata.type': USER_TYPE,
        ...projectUser(
          manager,
          select ?? [
            'id',
            'displayName',
            'jobTitle',
            'mail',
            'userPrincipalName',
            'givenName',
            'surname',
            'businessPhones',
            'mobilePhone',
            'officeLocation',
            'preferredLanguage',
          ],
        ),
      });
    },
    users,
  );

  routes.add(
    'GET',
    '/users/{id}/photo',
    (req, params) => {
      const user = store.requireUser(params.id!);
      if (!user.photo) throw imageNotFound();
      return ok(photoMetadata(req.baseUrl, store.tenantId, user.id, user.photo));
    },
    users,
  );

  routes.add(
    'GET',
    '/users/{id}/photo/$value',
    (_req, params): StandinResponse => {
      const user = store.requireUser(params.id!);
      if (!user.photo) throw imageNotFound();
      const bytes = photoBytes(user.id, user.photo);
      return {
        status: 200,
        headers: { 'Content-Type': photoContentType(bytes), ETag: user.photo.etag },
        body: bytes,
      };
    },
    users,
  );

  routes.add(
    'GET',
    '/groups',
    (req) => {
      const select = validateGroupSelect(parseSelect(req.query.get('$select')));
      const query = parseListQuery(req, GROUP_FILTER_POLICY, ['displayName']);
      const page = pageOver(store.groupOrder, query, (g) => g.state === 'active', readGroup);
      return ok(
        collectionBody(
          req,
          contextUrl(req.baseUrl, 'groups', select),
          page,
          page.items.map((g) => projectGroup(g, select)),
        ),
      );
    },
    groups,
  );

  routes.add(
    'GET',
    '/groups/{id}',
    (req, params) => {
      const group = store.requireGroup(params.id!);
      const select = validateGroupSelect(parseSelect(req.query.get('$select')));
      return ok({
        '@odata.context': `${contextUrl(req.baseUrl, 'groups', select)}/$entity`,
        ...projectGroup(group, select),
      });
    },
    groups,
  );

  for (const relation of ['members', 'transitiveMembers'] as const) {
    for (const cast of [null, 'user', 'group'] as const) {
      const pattern = `/groups/{id}/${relation}${cast ? `/microsoft.graph.${cast}` : ''}`;
      routes.add(
        'GET',
        pattern,
        (req, params) => listMembers(req, store, params.id!, relation, cast),
        groups,
      );
    }
  }
}

type Member =
  | { readonly kind: 'user'; readonly user: UserEntry }
  | { readonly kind: 'group'; readonly group: GroupEntry };

function listMembers(
  req: StandinRequest,
  store: TenantStore,
  groupId: string,
  relation: 'members' | 'transitiveMembers',
  cast: 'user' | 'group' | null,
): StandinResponse {
  const group = store.requireGroup(groupId);
  const ids = relation === 'members' ? [...group.members] : store.transitiveMemberIds(group.id);
  const members: Member[] = [];
  for (const id of ids) {
    const user = store.findUser(id);
    if (user) {
      if (cast !== 'group') members.push({ kind: 'user', user });
      continue;
    }
    const nested = store.findGroup(id);
    if (nested && cast !== 'user') members.push({ kind: 'group', group: nested });
  }
  const rawSelect = parseSelect(req.query.get('$select'));
  const userSelect = cast === 'group' ? null : validateMemberSelect(rawSelect, req, 'user');
  const groupSelect = cast === 'user' ? null : validateMemberSelect(rawSelect, req, 'group');
  const query = parseListQuery(req, cast === 'group' ? GROUP_FILTER_POLICY : MEMBER_FILTER_POLICY, ORDERABLE);
  const page = pageOver(
    members,
    query,
    () => true,
    (m, name) => (m.kind === 'user' ? readUser(m.user, name) : readGroup(m.group, name)),
  );
  const value = page.items.map((m): JsonObject => {
    if (m.kind === 'user') {
      const projected = projectUser(m.user, userSelect);
      return cast ? projected : { '@odata.type': USER_TYPE, ...projected };
    }
    return {
      '@odata.id': `${req.baseUrl.replace(/\/v1\.0$/, '')}/v2/${store.tenantId}/directoryObjects/${m.group.id}/Microsoft.DirectoryServices.Group`,
      ...(cast ? {} : { '@odata.type': GROUP_TYPE }),
      organizationId: store.tenantId,
      ...projectGroup(m.group, groupSelect),
    };
  });
  const entitySet = cast === 'user' ? 'users' : cast === 'group' ? 'groups' : 'directoryObjects';
  return ok(collectionBody(req, contextUrl(req.baseUrl, entitySet, cast ? rawSelect : null), page, value));
}

/** A `$select` on members applies to users and groups alike: keep the names each type knows. */
function validateMemberSelect(
  select: string[] | null,
  req: StandinRequest,
  kind: 'user' | 'group',
): string[] | null {
  if (select === null) return null;
  const kept = select.filter((name) => {
    try {
      if (kind === 'user') validateUserSelect([name], undefined, req.token?.roles ?? []);
      else validateGroupSelect([name]);
      return true;
    } catch (error) {
      if (error instanceof TenantError && error.status === 403) throw error;
      return false;
    }
  });
  return kept.length > 0 ? kept : ['id'];
}

/** The projected user with its expanded `manager` (no key when it has none). */
function withManager(
  store: TenantStore,
  user: UserEntry,
  projected: JsonObject,
  expand: ManagerExpand | null,
): JsonObject {
  if (!expand) return projected;
  const manager = expandedManager(store, user, expand);
  return manager ? { ...projected, manager } : projected;
}

function imageNotFound(): TenantError {
  return new TenantError(
    404,
    'ImageNotFound',
    "Exception of type 'Microsoft.Fast.Profile.Core.Exception.ImageNotFoundException' was thrown.",
  );
}

function ok(body: JsonObject): StandinResponse {
  return { status: 200, body };
}
