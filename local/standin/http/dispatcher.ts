/**
 * One request through the stand-in: route lookup, bearer-token check, permissions, the fault plan, the
 * handler, and Graph's response conventions (`request-id`, `client-request-id`, error bodies). `$batch` sends
 * its inner requests through here too, so they are authorised, throttled and counted on their own.
 */
import type { IncomingHttpHeaders } from 'node:http';

import type { AccessTokenIssuer, Audience } from '../auth/access-tokens.js';
import { GRAPH_AUDIENCE, KEYVAULT_AUDIENCE } from '../auth/access-tokens.js';
import type { AppRegistration } from '../auth/app-registration.js';
import type { FaultInjector } from '../faults/fault-plan.js';
import { keyVaultChallenge, keyVaultUnauthorizedBody } from '../keyvault/index.js';
import { TenantError } from '../tenant/tenant-store.js';
import type { RequestCounters } from './counters.js';
import { graphError, type StandinRequest, type StandinResponse } from './route-table.js';
import type { Router } from './router.js';

export const GRAPH_VERSION_PREFIX = '/v1.0';
export const CONTROL_PREFIX = '/_standin';
export const ODATA_JSON =
  'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';

export interface DispatchInput {
  readonly method: string;
  /** Path and query relative to the host, e.g. `/v1.0/users?$top=5`. */
  readonly pathAndQuery: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawBody: Buffer;
  readonly inBatch: boolean;
  readonly fromLoopback: boolean;
}

export interface DispatchResult {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** Already serialised: JSON text, plain text or bytes. */
  readonly body: Buffer | undefined;
  /** The JSON value when the body is JSON (for `$batch`). */
  readonly json?: unknown;
}

export interface DispatcherDeps {
  readonly origin: () => string;
  readonly tenantId: string;
  readonly app: AppRegistration;
  readonly tokens: AccessTokenIssuer;
  readonly faults: FaultInjector;
  readonly counters: RequestCounters;
  readonly graph: Router;
  readonly root: Router;
  readonly control: Router;
  readonly sleep: (ms: number) => Promise<void>;
  /** A monotonic clock in ms (performance.now). */
  readonly now: () => number;
}

type Area = 'graph' | 'root' | 'control';

/** Where a request was routed (filled in by `serve`). */
interface Routed {
  area?: Area;
  routeKey?: string;
  /** What the fault plan's `latency` rules added while serving. */
  ruleLatencyMs?: number;
}

export class Dispatcher {
  constructor(private readonly deps: DispatcherDeps) {}

  /**
   * Serves the request, then holds a top-level Graph answer back until the fault plan's latency model
   * (the objects it carries decide how long) has passed since the request came in, and counts that
   * latency on the route. The model is Graph's answer time, its own work included: the stand-in's time
   * making the answer is part of it, not added to it (an answer that took longer goes out at once).
   * A `latency` rule's wait is added on top, as the rule says.
   */
  async dispatch(input: DispatchInput): Promise<DispatchResult> {
    const routed: Routed = {};
    const started = this.deps.now();
    const result = await this.serve(input, routed);
    if (routed.area === 'graph' && routed.routeKey !== undefined && !input.inBatch) {
      const ms = this.deps.faults.graphLatencyMs(objectsIn(result));
      if (ms > 0) {
        this.deps.counters.latency(routed.routeKey, ms);
        const spent = this.deps.now() - started - (routed.ruleLatencyMs ?? 0);
        if (ms - spent > 0) await this.deps.sleep(ms - spent);
      }
    }
    return result;
  }

  private async serve(input: DispatchInput, routed: Routed): Promise<DispatchResult> {
    const requestId = crypto.randomUUID();
    const clientRequestId = headerValue(input.headers, 'client-request-id') ?? crypto.randomUUID();
    const ids = { requestId, clientRequestId };
    const url = new URL(input.pathAndQuery, 'https://standin.invalid');
    const { area, path, router, baseUrl } = this.areaOf(url.pathname);
    if (area === 'control' && !input.fromLoopback) {
      return finish(
        graphError(403, 'Forbidden', 'The control API answers loopback callers only.'),
        ids,
        area,
      );
    }
    const match = router.match(input.method, path);
    if (match.kind !== 'found') {
      if (area !== 'control') this.deps.counters.request(`${input.method.toUpperCase()} (unmatched)`);
      const response =
        match.kind === 'methodNotAllowed'
          ? graphError(
              405,
              'Request_BadRequest',
              'Specified HTTP method is not allowed for the request target.',
            )
          : graphError(400, 'BadRequest', `Resource not found for the segment '${lastSegment(path)}'.`);
      return finish(response, ids, area);
    }
    const { route, params } = match;
    const routeKey = `${route.method} ${route.pattern}`;
    routed.area = area;
    routed.routeKey = routeKey;
    if (area !== 'control') this.deps.counters.request(routeKey);

    const auth = area === 'control' ? 'none' : (route.options.auth ?? 'graph');
    let token: StandinRequest['token'];
    if (auth !== 'none') {
      const audience: Audience = auth === 'keyvault' ? KEYVAULT_AUDIENCE : GRAPH_AUDIENCE;
      const checked = this.checkBearer(input.headers, audience);
      if (!checked.ok)
        return finish(this.unauthorized(auth, checked.tokenPresent, checked.reason), ids, area);
      token = checked.token;
      const roles = route.options.anyOfRoles;
      if (roles && roles.length > 0 && !roles.some((r) => token!.roles.includes(r))) {
        return finish(
          graphError(
            403,
            'Authorization_RequestDenied',
            'Insufficient privileges to complete the operation.',
          ),
          ids,
          area,
        );
      }
    }

    if (area !== 'control') {
      const decision = this.deps.faults.decide({
        method: route.method,
        pattern: route.pattern,
        inBatch: input.inBatch,
      });
      if (decision.latencyMs > 0) {
        this.deps.counters.latency(routeKey, decision.latencyMs);
        routed.ruleLatencyMs = decision.latencyMs;
        await this.deps.sleep(decision.latencyMs);
      }
      if (decision.kind === 'throttle') {
        this.deps.counters.throttled();
        return finish(throttled(decision.retryAfterSeconds), ids, area);
      }
      if (decision.kind === 'unavailable') {
        this.deps.counters.unavailable();
        return finish(
          graphError(
            503,
            'serviceNotAvailable',
            'The service is temporarily unavailable. Please retry later.',
          ),
          ids,
          area,
        );
      }
    }

    const request: StandinRequest = {
      method: input.method.toUpperCase(),
      path,
      query: url.searchParams,
      headers: input.headers,
      body: parseJsonBody(input.headers, input.rawBody),
      rawBody: input.rawBody,
      baseUrl: `${this.deps.origin()}${baseUrl}`,
      ...(token ? { token } : {}),
    };
    try {
      return finish(await route.handler(request, params), ids, area);
    } catch (error) {
      if (error instanceof TenantError)
        return finish(graphError(error.status, error.code, error.message), ids, area);
      const message = error instanceof Error ? error.message : 'Unexpected error.';
      return finish(graphError(500, 'generalException', message), ids, area);
    }
  }

  private areaOf(pathname: string): { area: Area; path: string; router: Router; baseUrl: string } {
    const lower = pathname.toLowerCase();
    if (lower === GRAPH_VERSION_PREFIX || lower.startsWith(`${GRAPH_VERSION_PREFIX}/`)) {
      return {
        area: 'graph',
        path: pathname.slice(GRAPH_VERSION_PREFIX.length) || '/',
        router: this.deps.graph,
        baseUrl: GRAPH_VERSION_PREFIX,
      };
    }
    if (lower.startsWith(`${CONTROL_PREFIX}/`)) {
      return {
        area: 'control',
        path: pathname.slice(CONTROL_PREFIX.length),
        router: this.deps.control,
        baseUrl: CONTROL_PREFIX,
      };
    }
    return { area: 'root', path: pathname, router: this.deps.root, baseUrl: '' };
  }

  private checkBearer(
    headers: IncomingHttpHeaders,
    audience: Audience,
  ):
    | { ok: true; token: NonNullable<StandinRequest['token']> }
    | { ok: false; tokenPresent: boolean; reason: string } {
    const authorization = headerValue(headers, 'authorization');
    const match = authorization ? /^Bearer\s+(\S+)$/i.exec(authorization) : null;
    if (!match) return { ok: false, tokenPresent: false, reason: 'Access token is empty.' };
    const checked = this.deps.tokens.verify(match[1]!, audience, this.deps.tenantId);
    if (!checked.ok)
      return { ok: false, tokenPresent: true, reason: `Access token validation failure. ${checked.reason}` };
    return {
      ok: true,
      token: { appId: checked.claims.appid, tenantId: checked.claims.tid, roles: checked.claims.roles },
    };
  }

  private unauthorized(auth: 'graph' | 'keyvault', tokenPresent: boolean, reason: string): StandinResponse {
    if (auth === 'keyvault') {
      return {
        status: 401,
        headers: { 'WWW-Authenticate': keyVaultChallenge(this.deps.origin(), this.deps.tenantId) },
        body: keyVaultUnauthorizedBody(tokenPresent),
      };
    }
    const response = graphError(401, 'InvalidAuthenticationToken', reason);
    return {
      ...response,
      headers: {
        'WWW-Authenticate': `Bearer realm="", authorization_uri="${this.deps.origin()}/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`,
      },
    };
  }
}

/**
 * Objects an answer carries, for the latency model: each item of a collection's `value` plus each reference
 * in its `members@delta` (the units a delta page's size is counted in), 1 for any other successful body.
 */
function objectsIn(result: DispatchResult): number {
  const json = result.json;
  if (typeof json === 'object' && json !== null && 'value' in json && Array.isArray(json.value)) {
    let objects = 0;
    for (const item of json.value as unknown[]) {
      objects += 1;
      if (typeof item === 'object' && item !== null && 'members@delta' in item) {
        const members = item['members@delta'];
        if (Array.isArray(members)) objects += members.length;
      }
    }
    return objects;
  }
  return result.status >= 200 && result.status < 300 && result.body !== undefined ? 1 : 0;
}

/** Graph's throttling answer (throttling.429.json), with or without `Retry-After`. */
export function throttled(retryAfterSeconds: number | null): StandinResponse {
  const base = graphError(429, 'TooManyRequests', 'Please retry again later.');
  const body = base.body as { error: { innerError: Record<string, string> } };
  body.error.innerError = {
    code: '429',
    message: 'Please retry after',
    status: '429',
    ...body.error.innerError,
  };
  return {
    status: 429,
    headers: retryAfterSeconds === null ? {} : { 'Retry-After': String(retryAfterSeconds) },
    body,
  };
}

function finish(
  response: StandinResponse,
  ids: { requestId: string; clientRequestId: string },
  area: Area,
): DispatchResult {
  const headers: Record<string, string> = {
    'request-id': ids.requestId,
    'client-request-id': ids.clientRequestId,
  };
  if (area === 'graph') {
    headers['Cache-Control'] = 'no-cache';
    headers['OData-Version'] = '4.0';
    headers['x-ms-resource-unit'] = '1';
    headers['x-ms-ags-diagnostic'] = '{"ServerInfo":{"DataCenter":"Local Stand-in"}}';
  }
  let body: Buffer | undefined;
  let json: unknown;
  const value = response.body;
  if (value === undefined || value === null) {
    body = undefined;
  } else if (Buffer.isBuffer(value)) {
    body = value;
    headers['Content-Type'] = 'application/octet-stream';
  } else if (typeof value === 'string') {
    body = Buffer.from(value, 'utf8');
    headers['Content-Type'] = 'text/plain; charset=utf-8';
  } else {
    json = withRequestIds(value, ids);
    body = Buffer.from(JSON.stringify(json), 'utf8');
    headers['Content-Type'] = area === 'graph' ? ODATA_JSON : 'application/json; charset=utf-8';
  }
  for (const [name, headerVal] of Object.entries(response.headers ?? {})) {
    const existing = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase());
    if (existing) delete headers[existing];
    headers[name] = headerVal;
  }
  return { status: response.status, headers, body, json };
}

/** Puts the real request ids into a Graph error's `innerError`. */
function withRequestIds(value: unknown, ids: { requestId: string; clientRequestId: string }): unknown {
  if (typeof value !== 'object' || value === null || !('error' in value)) return value;
  const error = value.error;
  if (typeof error !== 'object' || error === null || !('innerError' in error)) return value;
  const inner = error.innerError;
  if (typeof inner !== 'object' || inner === null) return value;
  return {
    ...value,
    error: {
      ...error,
      innerError: { ...inner, 'request-id': ids.requestId, 'client-request-id': ids.clientRequestId },
    },
  };
}

function parseJsonBody(headers: IncomingHttpHeaders, raw: Buffer): unknown {
  const type = headerValue(headers, 'content-type') ?? '';
  if (raw.length === 0 || !type.toLowerCase().includes('json')) return undefined;
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

function lastSegment(path: string): string {
  const parts = path.split('/').filter((p) => p.length > 0);
  return parts[parts.length - 1] ?? '';
}
