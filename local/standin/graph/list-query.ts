/** `$top`, `$skiptoken`, `$count`, `$orderby` and `$filter` handling shared by the collection routes. */
import { headerValue } from '../http/dispatcher.js';
import type { StandinRequest } from '../http/route-table.js';
import { TenantError } from '../tenant/tenant-store.js';
import { type JsonObject, type JsonValue, text } from '../tenant/types.js';
import { MAX_EXPANDED_PAGE_SIZE } from './expand-manager.js';
import {
  checkFilter,
  evaluateFilter,
  type FilterNode,
  type FilterPolicy,
  parseFilter,
  readPath,
} from './odata-filter.js';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 999;

export interface ListQuery {
  readonly top: number;
  readonly start: number;
  readonly count: boolean;
  readonly filter: FilterNode | null;
  readonly orderBy: { readonly path: string; readonly descending: boolean } | null;
}

/** Advanced query capabilities: `ConsistencyLevel: eventual` and `$count=true` together. */
export function isAdvanced(req: StandinRequest): boolean {
  return (
    headerValue(req.headers, 'consistencylevel')?.toLowerCase() === 'eventual' &&
    req.query.get('$count') === 'true'
  );
}

/**
 * `expandable`: the route serves `$expand` (parsed by the route); a page then holds at most
 * `MAX_EXPANDED_PAGE_SIZE` objects whatever `$top` says, as Graph's does. Elsewhere `$expand` is refused.
 */
export function parseListQuery(
  req: StandinRequest,
  policy: FilterPolicy,
  orderableWithoutAdvanced: readonly string[],
  options: { readonly expandable?: boolean } = {},
): ListQuery {
  const advanced = isAdvanced(req);
  const topRaw = req.query.get('$top');
  const requestedTop = topRaw === null ? DEFAULT_PAGE_SIZE : Number(topRaw);
  const expanding = options.expandable === true && req.query.has('$expand');
  const top = expanding ? Math.min(requestedTop, MAX_EXPANDED_PAGE_SIZE) : requestedTop;
  if (!Number.isInteger(requestedTop) || requestedTop < 1 || requestedTop > MAX_PAGE_SIZE) {
    throw new TenantError(
      400,
      'Request_BadRequest',
      `Invalid page size specified: '${topRaw}'. Must be between 1 and 999 inclusive.`,
    );
  }
  const countRaw = req.query.get('$count');
  if (countRaw !== null && countRaw !== 'true' && countRaw !== 'false') {
    throw new TenantError(400, 'BadRequest', `Invalid value '${countRaw}' for $count.`);
  }
  if (countRaw === 'true' && !advanced) {
    throw new TenantError(
      400,
      'Request_UnsupportedQuery',
      '$count is not supported because the required parameters might be missing. Try adding the ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information',
    );
  }
  if (req.query.has('$search')) {
    throw new TenantError(400, 'Request_UnsupportedQuery', 'The stand-in does not support $search.');
  }
  if (req.query.has('$expand') && options.expandable !== true) {
    throw new TenantError(400, 'Request_UnsupportedQuery', 'The stand-in does not support $expand.');
  }
  const filterRaw = req.query.get('$filter');
  const filter = filterRaw === null || filterRaw.trim() === '' ? null : parseFilter(filterRaw);
  if (filter) checkFilter(filter, policy, advanced);
  const orderRaw = req.query.get('$orderby') ?? req.query.get('$orderBy');
  let orderBy: ListQuery['orderBy'] = null;
  if (orderRaw !== null && orderRaw.trim() !== '') {
    const [path = '', direction = 'asc'] = orderRaw.trim().split(/\s+/);
    const plain = orderableWithoutAdvanced.some((p) => p.toLowerCase() === path.toLowerCase());
    if ((!plain || filter !== null) && !advanced) {
      throw new TenantError(
        400,
        'Request_UnsupportedQuery',
        `Sorting by '${path}' ${filter ? 'together with $filter ' : ''}is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header.`,
      );
    }
    orderBy = { path, descending: direction.toLowerCase() === 'desc' };
  }
  return {
    top,
    start: decodeSkipToken(req.query.get('$skiptoken')),
    count: countRaw === 'true',
    filter,
    orderBy,
  };
}

export function encodeSkipToken(index: number): string {
  return Buffer.from(JSON.stringify({ i: index, k: 'list' })).toString('base64url');
}

function decodeSkipToken(raw: string | null): number {
  if (raw === null) return 0;
  try {
    const parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as { i?: unknown };
    if (typeof parsed.i === 'number' && Number.isInteger(parsed.i) && parsed.i >= 0) return parsed.i;
  } catch {
    // fall through
  }
  throw new TenantError(
    400,
    'Request_BadRequest',
    'The specified page token value has expired or is invalid.',
  );
}

export interface PageResult<T> {
  readonly items: T[];
  readonly nextIndex: number | null;
  readonly count: number | null;
}

/** Pages over `source` (already in order) keeping items that pass the filter; indexes refer to `source`. */
export function pageOver<T>(
  source: readonly T[],
  query: ListQuery,
  include: (item: T) => boolean,
  read: (item: T, name: string) => JsonValue | undefined,
): PageResult<T> {
  const matches = (item: T): boolean =>
    include(item) &&
    (query.filter === null || evaluateFilter(query.filter, (p) => readPath((n) => read(item, n), p)));
  let ordered: readonly T[] = source;
  let filterDone = false;
  if (query.orderBy) {
    const { path, descending } = query.orderBy;
    const keyOf = (item: T): string => text(readPath((n) => read(item, n), path)).toLowerCase();
    ordered = source.filter(matches).sort((a, b) => (descending ? -1 : 1) * keyOf(a).localeCompare(keyOf(b)));
    filterDone = true;
  }
  const items: T[] = [];
  let index = query.start;
  for (; index < ordered.length && items.length < query.top; index++) {
    const item = ordered[index]!;
    if (filterDone || matches(item)) items.push(item);
  }
  let nextIndex: number | null = null;
  if (items.length === query.top) {
    for (let probe = index; probe < ordered.length; probe++) {
      if (filterDone || matches(ordered[probe]!)) {
        nextIndex = index;
        break;
      }
    }
  }
  let count: number | null = null;
  if (query.count)
    count = filterDone ? ordered.length : source.reduce((n, item) => n + (matches(item) ? 1 : 0), 0);
  return { items, nextIndex, count };
}

/** The collection body: `@odata.context`, `@odata.count`, `@odata.nextLink`, `value`. */
export function collectionBody(
  req: StandinRequest,
  context: string | null,
  page: PageResult<unknown>,
  value: JsonObject[],
): JsonObject {
  const body: JsonObject = {};
  if (context !== null) body['@odata.context'] = context;
  if (page.count !== null) body['@odata.count'] = page.count;
  if (page.nextIndex !== null) {
    const params = new URLSearchParams(req.query);
    params.delete('$skiptoken');
    params.set('$skiptoken', encodeSkipToken(page.nextIndex));
    body['@odata.nextLink'] = `${req.baseUrl}${req.path}?${params.toString()}`;
  }
  body.value = value;
  return body;
}
