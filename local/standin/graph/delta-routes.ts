/**
 * `GET /users/delta` and `GET /groups/delta` over the tenant's change log. An initial round pages over the
 * objects that existed when it started; a deltaLink carries the sequence it is current to, and the next
 * round returns what changed after it (tracked properties only, `@removed` for deletions, `manager@delta`
 * and `members@delta` for relationships). Faults: empty pages, replayed duplicates, expired tokens,
 * failing pages (see the fault plan).
 */
import type { FaultInjector } from '../faults/fault-plan.js';
import type { RequestCounters } from '../http/counters.js';
import { headerValue, throttled } from '../http/dispatcher.js';
import {
  graphError,
  type RouteTable,
  type StandinRequest,
  type StandinResponse,
} from '../http/route-table.js';
import { TenantError, type TenantStore } from '../tenant/tenant-store.js';
import type { GroupEntry, JsonObject, UserEntry } from '../tenant/types.js';
import { decodeDeltaState, type DeltaState, encodeDeltaState } from './delta-token.js';
import { GROUP_READ_ROLES, USER_READ_ROLES } from './directory-routes.js';
import {
  contextUrl,
  DEFAULT_GROUP_DELTA_PROPERTIES,
  DEFAULT_USER_PROPERTIES,
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
import { type FilterNode, parseFilter } from './odata-filter.js';

const SEVEN_DAYS_SECONDS = 7 * 24 * 3600;
const MAX_ID_FILTERS = 50;

export interface DeltaRouteDeps {
  readonly store: TenantStore;
  readonly faults: FaultInjector;
  readonly counters: RequestCounters;
  readonly now: () => Date;
  /** Users per page (Graph: about 200). */
  readonly userPageSize: () => number;
  /** Objects plus member references per groups page; a large group's members are split across pages. */
  readonly groupPageBudget: () => number;
}

type Resource = 'users' | 'groups';

interface Rendered {
  readonly object: JsonObject;
  /** `members@delta` entries (groups), sliced across pages by the budget. */
  readonly members: JsonObject[] | null;
}

export function registerDeltaRoutes(routes: RouteTable, deps: DeltaRouteDeps): void {
  const cache = new ChangedIdsCache(deps.store);
  routes.add('GET', '/users/delta', (req) => serveDelta(req, 'users', deps, cache), {
    anyOfRoles: USER_READ_ROLES,
  });
  routes.add('GET', '/groups/delta', (req) => serveDelta(req, 'groups', deps, cache), {
    anyOfRoles: GROUP_READ_ROLES,
  });
}

class ChangedIdsCache {
  private key = '';
  private ids: string[] = [];
  constructor(private readonly store: TenantStore) {}

  get(resource: Resource, from: number, to: number): string[] {
    const key = `${resource}:${from}:${to}`;
    if (key !== this.key) {
      this.ids = this.store.changedIdsBetween(resource, from, to);
      this.key = key;
    }
    return this.ids;
  }
}

function serveDelta(
  req: StandinRequest,
  resource: Resource,
  deps: DeltaRouteDeps,
  cache: ChangedIdsCache,
): StandinResponse {
  const { store, faults } = deps;
  const nowMs = deps.now().getTime();
  const skipToken = req.query.get('$skiptoken');
  const deltaToken = req.query.get('$deltatoken');
  let state: DeltaState;
  let firstPage = false;
  if (skipToken !== null || (deltaToken !== null && deltaToken !== 'latest')) {
    const decoded = decodeDeltaState((skipToken ?? deltaToken)!, resource);
    const expired = expiredResponse(req, resource, decoded, deps, nowMs);
    if (expired) return expired;
    state =
      skipToken !== null
        ? decoded
        : { ...decoded, init: false, from: decoded.to, to: store.seq, ...roundStart(nowMs) };
  } else {
    const options = firstRequestOptions(req, resource);
    state = {
      v: 1,
      r: resource,
      ...options,
      init: true,
      from: 0,
      to: store.seq,
      ...roundStart(nowMs),
    };
    state.n = resource === 'users' ? store.userOrder.length : store.groupOrder.length;
    firstPage = true;
    if (deltaToken === 'latest') {
      return page(req, resource, state, firstPage, [], null, { ...state, init: false, t: nowMs }, deps);
    }
  }

  const failure = faults.deltaPageFailure(resource);
  if (failure !== undefined) {
    return failure === 429
      ? throttled(1)
      : graphError(
          failure,
          failure === 503 ? 'serviceNotAvailable' : 'generalException',
          'The delta page could not be served.',
        );
  }

  const minimal = /return=minimal/i.test(headerValue(req.headers, 'prefer') ?? '');
  const candidates = candidateIds(resource, state, store, cache);
  const render = (id: string): Rendered | null =>
    resource === 'users'
      ? renderUser(store.usersById.get(id), state, minimal)
      : renderGroup(store.groupsById.get(id), state, minimal, store);

  const every = faults.delta.emptyPageEvery;
  if (every !== undefined && (state.pg + 1) % every === 0 && state.pos < candidates.length) {
    return page(req, resource, state, firstPage, [], { ...state, pg: state.pg + 1, t: nowMs }, null, deps);
  }

  const budget = Math.max(1, resource === 'users' ? deps.userPageSize() : deps.groupPageBudget());
  const value: JsonObject[] = [];
  for (const id of state.dup) {
    const again = render(id);
    if (again) value.push(again.object);
  }
  let used = 0;
  let pos = state.pos;
  let mpos = state.mpos;
  const servedIds: string[] = [];
  while (pos < candidates.length && used < budget) {
    const id = candidates.get(pos);
    const rendered = render(id);
    if (!rendered) {
      pos++;
      mpos = 0;
      continue;
    }
    servedIds.push(id);
    if (rendered.members === null || rendered.members.length === 0) {
      value.push(rendered.object);
      used++;
      pos++;
      mpos = 0;
      continue;
    }
    const room = Math.max(1, budget - used - 1);
    const slice = rendered.members.slice(mpos, mpos + room);
    value.push({ ...rendered.object, 'members@delta': slice });
    used += 1 + slice.length;
    if (mpos + slice.length < rendered.members.length) {
      mpos += slice.length;
      break;
    }
    pos++;
    mpos = 0;
  }
  const more = pos < candidates.length;
  const replay = pickDuplicates(servedIds, faults);
  if (!more && replay.length > 0) {
    for (const id of replay) {
      const again = render(id);
      if (again) value.push(again.object);
    }
  }
  const next: DeltaState = { ...state, pos, mpos, pg: state.pg + 1, dup: more ? replay : [], t: nowMs };
  return page(
    req,
    resource,
    state,
    firstPage,
    value,
    more ? next : null,
    more ? null : { ...next, init: false },
    deps,
  );
}

function page(
  req: StandinRequest,
  resource: Resource,
  state: DeltaState,
  firstPage: boolean,
  value: JsonObject[],
  next: DeltaState | null,
  deltaLinkState: DeltaState | null,
  deps: DeltaRouteDeps,
): StandinResponse {
  deps.counters.deltaPage(resource);
  deps.faults.deltaPageServed(resource);
  const body: JsonObject = {
    '@odata.context': contextUrl(req.baseUrl, resource, firstPage ? state.sel : null),
  };
  if (next) body['@odata.nextLink'] = `${req.baseUrl}/${resource}/delta?$skiptoken=${encodeDeltaState(next)}`;
  if (deltaLinkState)
    body['@odata.deltaLink'] =
      `${req.baseUrl}/${resource}/delta?$deltatoken=${encodeDeltaState(deltaLinkState)}`;
  body.value = value;
  return { status: 200, body };
}

function firstRequestOptions(
  req: StandinRequest,
  resource: Resource,
): { sel: string[] | null; ids: string[] | null } {
  for (const option of ['$top', '$orderby', '$expand', '$search', '$count', '$skip']) {
    if (req.query.has(option)) {
      throw new TenantError(
        400,
        'Request_UnsupportedQuery',
        `The query option '${option}' is not supported with delta queries.`,
      );
    }
  }
  const raw = parseSelect(req.query.get('$select'));
  const sel =
    resource === 'users'
      ? validateUserSelect(raw, undefined, req.token?.roles ?? [], ['manager'])
      : validateGroupSelect(raw);
  const filter = req.query.get('$filter');
  return { sel, ids: filter === null || filter.trim() === '' ? null : idFilter(parseFilter(filter)) };
}

/** Delta accepts only `id eq '…'` clauses joined by `or` (at most 50). */
function idFilter(node: FilterNode): string[] {
  const ids: string[] = [];
  const visit = (n: FilterNode): void => {
    if (n.kind === 'or') {
      visit(n.left);
      visit(n.right);
    } else if (
      n.kind === 'compare' &&
      n.op === 'eq' &&
      n.path.toLowerCase() === 'id' &&
      typeof n.value === 'string'
    ) {
      ids.push(n.value);
    } else {
      throw new TenantError(
        400,
        'Request_UnsupportedQuery',
        "Delta queries support only $filter=id eq '…' clauses joined by 'or'.",
      );
    }
  };
  visit(node);
  if (ids.length > MAX_ID_FILTERS) {
    throw new TenantError(
      400,
      'Request_UnsupportedQuery',
      `At most ${MAX_ID_FILTERS} id filters are supported with delta queries.`,
    );
  }
  return ids;
}

/** Ids in round order, read by index (an initial round reads the append-only object list in place). */
interface IdList {
  readonly length: number;
  get(index: number): string;
}

function listOf(ids: readonly string[]): IdList {
  return { length: ids.length, get: (i) => ids[i]! };
}

function candidateIds(
  resource: Resource,
  state: DeltaState,
  store: TenantStore,
  cache: ChangedIdsCache,
): IdList {
  if (state.init) {
    if (state.ids) return listOf(state.ids);
    const order: ReadonlyArray<{ readonly id: string }> =
      resource === 'users' ? store.userOrder : store.groupOrder;
    return { length: Math.min(state.n, order.length), get: (i) => order[i]!.id };
  }
  const changed = cache.get(resource, state.from, state.to);
  if (!state.ids) return listOf(changed);
  const wanted = new Set(state.ids);
  return listOf(changed.filter((id) => wanted.has(id)));
}

function managerRef(id: string, removed: boolean): JsonObject {
  return removed
    ? { '@odata.type': USER_TYPE, id, '@removed': { reason: 'deleted' } }
    : { '@odata.type': USER_TYPE, id };
}

function renderUser(user: UserEntry | undefined, state: DeltaState, minimal: boolean): Rendered | null {
  if (!user) return null;
  const trackManager = state.sel?.includes('manager') ?? false;
  const tracked = state.sel ? state.sel.filter((p) => p !== 'manager') : [...DEFAULT_USER_PROPERTIES];
  if (user.state === 'hardDeleted') {
    return state.init ? null : { object: { id: user.id, '@removed': { reason: 'deleted' } }, members: null };
  }
  if (user.state === 'softDeleted') {
    if (!state.init && user.stateSeq <= state.from) return null;
    return { object: { id: user.id, '@removed': { reason: 'changed' } }, members: null };
  }
  const whole = state.init || user.createdSeq > state.from || user.stateSeq > state.from;
  if (whole) {
    const object = projectUser(user, tracked);
    if (trackManager && user.managerId) object['manager@delta'] = [managerRef(user.managerId, false)];
    return { object, members: null };
  }
  const changed = tracked.filter((p) => (user.propSeq?.get(p) ?? 0) > state.from);
  const managerChanged = trackManager && (user.propSeq?.get('manager') ?? 0) > state.from;
  if (changed.length === 0 && !managerChanged) return null;
  const object: JsonObject = minimal
    ? Object.fromEntries(changed.map((p) => [p, userProperty(user, p)]))
    : projectUser(user, tracked);
  if (!('id' in object)) object.id = user.id;
  if (managerChanged) {
    object['manager@delta'] = user.managerId
      ? [managerRef(user.managerId, false)]
      : user.previousManagerId
        ? [managerRef(user.previousManagerId, true)]
        : [];
  }
  return { object, members: null };
}

function renderGroup(
  group: GroupEntry | undefined,
  state: DeltaState,
  minimal: boolean,
  store: TenantStore,
): Rendered | null {
  if (!group) return null;
  const trackMembers = state.sel === null || state.sel.includes('members');
  const tracked = state.sel ? state.sel.filter((p) => p !== 'members') : DEFAULT_GROUP_DELTA_PROPERTIES;
  if (group.state !== 'active') {
    return state.init ? null : { object: { id: group.id, '@removed': { reason: 'deleted' } }, members: null };
  }
  const memberRef = (id: string, removed: boolean): JsonObject => {
    const ref: JsonObject = { '@odata.type': store.groupsById.has(id) ? GROUP_TYPE : USER_TYPE, id };
    if (removed) ref['@removed'] = { reason: 'deleted' };
    return ref;
  };
  if (state.init || group.createdSeq > state.from) {
    return {
      object: projectGroup(group, tracked, tracked),
      members: trackMembers ? [...group.members].map((id) => memberRef(id, false)) : null,
    };
  }
  const changed = tracked.filter((p) => (group.propSeq?.get(p) ?? 0) > state.from);
  const memberChanges = trackMembers ? netMemberChanges(group, state.from) : [];
  if (changed.length === 0 && memberChanges.length === 0) return null;
  const object: JsonObject = minimal
    ? Object.fromEntries(changed.map((p) => [p, groupProperty(group, p)]))
    : projectGroup(group, tracked, tracked);
  if (!('id' in object)) object.id = group.id;
  return { object, members: memberChanges.map(([id, added]) => memberRef(id, !added)) };
}

/** Each member's last membership change after `from` (true = added). */
function netMemberChanges(group: GroupEntry, from: number): Array<[string, boolean]> {
  const log = group.memberLog;
  let lo = 0;
  let hi = log.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (log[mid]!.seq <= from) lo = mid + 1;
    else hi = mid;
  }
  const last = new Map<string, boolean>();
  for (let i = lo; i < log.length; i++) last.set(log[i]!.memberId, log[i]!.added);
  return [...last];
}

function pickDuplicates(servedIds: readonly string[], faults: FaultInjector): string[] {
  const rate = faults.delta.replayDuplicatesRate ?? 0;
  if (rate <= 0) return [];
  return servedIds.filter(() => faults.draw() < rate);
}

function expiredResponse(
  req: StandinRequest,
  resource: Resource,
  state: DeltaState,
  deps: DeltaRouteDeps,
  nowMs: number,
): StandinResponse | null {
  const maxAge = deps.faults.delta.tokenMaxAgeSeconds ?? SEVEN_DAYS_SECONDS;
  if (nowMs - state.t <= maxAge * 1000) return null;
  switch (deps.faults.delta.expiredTokenResponse ?? 'gone') {
    case 'syncStateNotFound':
      return graphError(
        400,
        'syncStateNotFound',
        'The sync state for this delta token was not found. Restart the delta query without a token.',
      );
    case 'resyncRequired':
      return graphError(
        400,
        'resyncRequired',
        'Resync required. Replace any local cached data with the data returned by a new delta query.',
      );
    case 'gone': {
      const restart = `${req.baseUrl}/${resource}/delta${state.sel ? `?$select=${state.sel.join(',')}` : ''}`;
      const gone = graphError(
        410,
        'resyncRequired',
        'The delta token has expired. Restart the sync from the Location header.',
      );
      return { ...gone, headers: { Location: restart } };
    }
  }
}

/** The position fields of a delta token at the start of a round (nothing served yet). */
function roundStart(nowMs: number) {
  return { n: 0, pos: 0, mpos: 0, pg: 0, dup: [] as string[], t: nowMs };
}
