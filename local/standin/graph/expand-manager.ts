/**
 * `$expand=manager` on `GET /users` and `GET /users/{id}`, as Graph serves it (user-list-manager.md,
 * query-parameters.md): the manager inline as a `#microsoft.graph.user` object with the inner `$select`'s
 * properties (Graph's default user properties without one), no `manager` key when a user has none, the
 * management chain with `$levels=n|max` on a single user only (with `ConsistencyLevel: eventual`). Graph
 * expands one relationship per request; the stand-in serves `manager` only and says so for the others.
 */
import { headerValue } from '../http/dispatcher.js';
import type { StandinRequest } from '../http/route-table.js';
import { TenantError, type TenantStore } from '../tenant/tenant-store.js';
import type { JsonObject, UserEntry } from '../tenant/types.js';
import { parseSelect, projectUser, USER_TYPE, validateUserSelect } from './directory-shapes.js';

/** A collection page holds at most this many objects when a relationship is expanded (Graph caps `$top`). */
export const MAX_EXPANDED_PAGE_SIZE = 100;
/** Graph's bound on `$levels` (user-list-manager.md: `max` or 1 to 1000). */
const MAX_LEVELS = 1000;

/** User relationships Graph lets `$expand` reach, that the stand-in does not serve. */
const OTHER_USER_NAVIGATIONS = [
  'directReports',
  'memberOf',
  'transitiveMemberOf',
  'ownedObjects',
  'ownedDevices',
  'registeredDevices',
  'createdObjects',
  'extensions',
  'sponsors',
];

/** Structural properties of a user (a `$expand` on one is refused as not a navigation property). */
const STRUCTURAL = (name: string): boolean => {
  try {
    validateUserSelect([name], undefined, ['CustomSecAttributeAssignment.Read.All']);
    return true;
  } catch {
    return false;
  }
};

export interface ManagerExpand {
  /** Properties of each expanded manager (null: Graph's default user properties). */
  readonly select: string[] | null;
  /** Managers up the chain (1 without `$levels`). */
  readonly levels: number;
}

/** Parses `$expand` for a user route; null when absent. `single`: `/users/{id}` (where `$levels` is allowed). */
export function parseManagerExpand(req: StandinRequest, single: boolean): ManagerExpand | null {
  const raw = req.query.get('$expand');
  if (raw === null || raw.trim() === '') return null;
  const items = splitTopLevel(raw, ',');
  if (items.length > 1) {
    throw badRequest(
      `The result of parsing $expand contained at least ${items.length} items, but the maximum allowed is 1.`,
    );
  }
  const match = /^\s*([^()\s]+)\s*(?:\((.*)\))?\s*$/s.exec(items[0]!);
  if (!match) throw badRequest(`Syntax error in $expand: '${raw}'.`);
  const name = match[1]!;
  if (name.toLowerCase() !== 'manager') throw notExpandable(name);

  let select: string[] | null = null;
  let levels = 1;
  const roles = req.token?.roles ?? [];
  for (const option of match[2] === undefined ? [] : splitTopLevel(match[2], ';')) {
    const [key = '', value = ''] = option.split(/=(.*)/s).map((s) => s.trim());
    switch (key.toLowerCase()) {
      case '$select':
        select = validateUserSelect(parseSelect(value), undefined, roles);
        break;
      case '$levels':
        levels = parseLevels(value, req, single);
        break;
      default:
        throw badRequest(`Query option '${key}' is not allowed in $expand of 'manager'.`);
    }
  }
  return { select, levels };
}

/** The `manager` value for `user` (nested `levels` deep), or undefined when the user has no manager. */
export function expandedManager(
  store: TenantStore,
  user: UserEntry,
  expand: ManagerExpand,
): JsonObject | undefined {
  const seen = new Set([user.id]);
  const build = (of: UserEntry, depth: number): JsonObject | undefined => {
    const manager = of.managerId ? store.findUser(of.managerId) : undefined;
    if (!manager || seen.has(manager.id)) return undefined;
    seen.add(manager.id);
    const object: JsonObject = { '@odata.type': USER_TYPE, ...projectUser(manager, expand.select) };
    if (depth < expand.levels) {
      const above = build(manager, depth + 1);
      if (above) object.manager = above;
    }
    return object;
  };
  return build(user, 1);
}

/** `@odata.context` select part with the expand: `id,displayName,manager(id)` or `manager()`. */
export function selectWithExpand(select: readonly string[] | null, expand: ManagerExpand | null): string[] {
  const own = select?.filter((s) => s !== 'manager') ?? [];
  if (!expand) return own;
  return [...own, `manager(${expand.select?.join(',') ?? ''})`];
}

function parseLevels(value: string, req: StandinRequest, single: boolean): number {
  if (!single) {
    throw new TenantError(
      400,
      'Request_UnsupportedQuery',
      '$levels in $expand is supported on a single user (/users/{id}), not on the list of users.',
    );
  }
  if (headerValue(req.headers, 'consistencylevel')?.toLowerCase() !== 'eventual') {
    throw new TenantError(
      400,
      'Request_UnsupportedQuery',
      '$levels in $expand requires the ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information',
    );
  }
  if (value.toLowerCase() === 'max') return MAX_LEVELS;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LEVELS) {
    throw badRequest(`Invalid value '${value}' for $levels: use max or a number from 1 to ${MAX_LEVELS}.`);
  }
  return n;
}

function notExpandable(name: string): TenantError {
  const other = OTHER_USER_NAVIGATIONS.find((n) => n.toLowerCase() === name.toLowerCase());
  if (other) {
    return new TenantError(
      400,
      'Request_UnsupportedQuery',
      `The stand-in serves $expand=manager only; Graph also expands '${other}', the stand-in does not.`,
    );
  }
  if (STRUCTURAL(name)) {
    return badRequest(
      `Property '${name}' on type 'microsoft.graph.user' is not a navigation property or complex property. Only navigation properties can be expanded.`,
    );
  }
  return badRequest(`Could not find a property named '${name}' on type 'microsoft.graph.user'.`);
}

function badRequest(message: string): TenantError {
  return new TenantError(400, 'BadRequest', message);
}

/** Splits on `separator` outside parentheses. */
function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === separator && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}
