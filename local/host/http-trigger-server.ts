import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { ensureError } from '../../src/shared/errors.js';
import type { RegisteredFunction } from './core-api.js';
import type { RpcHttpCookie, RpcHttpData, RpcInvocationResponse, RpcTypedData } from './core-api-types.js';
import type { InvocationInput } from './function-invoker.js';
import { type AuthLevel, type FunctionKeys, isAuthorized } from './function-keys.js';
import { HOST_CATEGORY, type HostLogSink } from './log-sink.js';
import { outputValue } from './output-bindings.js';
import type { RouteTemplate } from './route-template.js';

export interface HttpRoute {
  readonly fn: RegisteredFunction;
  readonly triggerName: string;
  readonly template: RouteTemplate;
  /** Upper-case methods; undefined = every method. */
  readonly methods: ReadonlySet<string> | undefined;
  readonly authLevel: AuthLevel;
  /** The `http` output binding that carries the response (usually `$return`). */
  readonly httpBindingName: string | undefined;
  /** Runs the function (and its other output bindings). */
  readonly invoke: (fn: RegisteredFunction, input: InvocationInput) => Promise<RpcInvocationResponse>;
}

export interface HttpTriggerServerOptions {
  readonly routes: readonly HttpRoute[];
  /** host.json `extensions.http.routePrefix`, without slashes (default `api`). */
  readonly routePrefix: string;
  readonly keys: FunctionKeys;
  readonly log: HostLogSink;
}

function headerRecord(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

function queryRecord(url: URL): Record<string, string> {
  const query: Record<string, string> = {};
  for (const name of new Set(url.searchParams.keys())) query[name] = url.searchParams.getAll(name).join(',');
  return query;
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks);
}

function typedDataBytes(data: RpcTypedData | null | undefined): Buffer {
  if (!data) return Buffer.alloc(0);
  if (data.bytes) return Buffer.from(data.bytes);
  if (typeof data.string === 'string') return Buffer.from(data.string, 'utf8');
  if (typeof data.json === 'string') return Buffer.from(data.json, 'utf8');
  if (typeof data.int === 'number' || typeof data.double === 'number')
    return Buffer.from(String(data.int ?? data.double));
  return Buffer.alloc(0);
}

const SAME_SITE: Readonly<Partial<Record<string, string>>> = {
  lax: 'Lax',
  strict: 'Strict',
  explicitNone: 'None',
};

/** Formats an RPC cookie as a `Set-Cookie` header value. */
export function formatSetCookie(cookie: RpcHttpCookie): string {
  const parts = [`${cookie.name ?? ''}=${cookie.value ?? ''}`];
  if (cookie.domain?.value) parts.push(`Domain=${cookie.domain.value}`);
  if (cookie.path?.value) parts.push(`Path=${cookie.path.value}`);
  const seconds = cookie.expires?.value?.seconds;
  if (typeof seconds === 'number') parts.push(`Expires=${new Date(seconds * 1000).toUTCString()}`);
  if (typeof cookie.maxAge?.value === 'number') parts.push(`Max-Age=${cookie.maxAge.value}`);
  if (cookie.secure?.value) parts.push('Secure');
  if (cookie.httpOnly?.value) parts.push('HttpOnly');
  const sameSite = cookie.sameSite ? SAME_SITE[cookie.sameSite] : undefined;
  if (sameSite) parts.push(`SameSite=${sameSite}`);
  return parts.join('; ');
}

function writeRpcResponse(response: ServerResponse, http: RpcHttpData | null | undefined): void {
  if (!http) {
    response.writeHead(204).end();
    return;
  }
  const status = Number(http.statusCode ?? '200');
  response.statusCode = Number.isInteger(status) ? status : 200;
  for (const [name, value] of Object.entries(http.headers ?? {})) response.setHeader(name, value);
  const cookies = (http.cookies ?? []).map(formatSetCookie);
  if (cookies.length > 0) response.setHeader('set-cookie', cookies);
  response.end(typedDataBytes(http.body));
}

/**
 * The host's HTTP front end: `/<routePrefix>/<route>` to the function whose route template matches
 * (404 if none, 405 if none allows the method), key checks per authLevel (401), the request handed to the
 * worker as RpcHttp data and the RpcHttp response written back.
 */
export class HttpTriggerServer {
  readonly #options: HttpTriggerServerOptions;
  readonly #routes: readonly HttpRoute[];
  readonly #server: Server;
  readonly #handling = new Set<Promise<void>>();
  #accepting = true;
  #closed: Promise<void> | undefined;

  constructor(options: HttpTriggerServerOptions) {
    this.#options = options;
    this.#routes = [...options.routes].sort((a, b) => b.template.precedence - a.template.precedence);
    this.#server = createServer((request, response) => {
      const handling = this.#handle(request, response).catch((error: unknown) => {
        this.#logHost('error', `HTTP request failed: ${ensureError(error).message}`);
        if (!response.headersSent) response.writeHead(500);
        response.end();
      });
      this.#handling.add(handling);
      void handling.finally(() => this.#handling.delete(handling));
    });
  }

  /** Listens on 127.0.0.1 (port 0 = a free port); resolves with the base URL. */
  listen(port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve(`http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`);
      });
    });
  }

  /** Refuses new requests (503) and new connections; requests already running go on. */
  stopAccepting(): void {
    if (this.#closed) return;
    this.#accepting = false;
    this.#closed = new Promise((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
  }

  /** Waits for the requests being handled to be answered, then closes every remaining connection. */
  async close(): Promise<void> {
    this.stopAccepting();
    while (this.#handling.size > 0) await Promise.all([...this.#handling]);
    this.#server.closeAllConnections();
    await this.#closed;
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (!this.#accepting) {
      response.writeHead(503, { connection: 'close' }).end();
      return;
    }
    const url = new URL(request.url ?? '/', `http://${request.headers.host ?? '127.0.0.1'}`);
    const method = (request.method ?? 'GET').toUpperCase();
    const prefix = this.#options.routePrefix === '' ? '/' : `/${this.#options.routePrefix}/`;
    const path = url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) : undefined;
    const matches =
      path === undefined
        ? []
        : this.#routes.flatMap((route) => {
            const params = route.template.match(path);
            return params ? [{ route, params }] : [];
          });
    if (matches.length === 0) {
      response.writeHead(404).end();
      return;
    }
    const chosen = matches.find(({ route }) => !route.methods || route.methods.has(method));
    if (!chosen) {
      const allowed = new Set(matches.flatMap(({ route }) => [...(route.methods ?? [])]));
      response.writeHead(405, { allow: [...allowed].join(', ') }).end();
      return;
    }
    const { route, params } = chosen;
    const presentedKey = request.headers['x-functions-key'] ?? url.searchParams.get('code') ?? undefined;
    if (
      !isAuthorized(
        route.authLevel,
        Array.isArray(presentedKey) ? presentedKey[0] : presentedKey,
        this.#options.keys,
      )
    ) {
      response.writeHead(401).end();
      return;
    }
    const body = await readBody(request);
    const http: RpcHttpData = {
      method,
      url: url.toString(),
      headers: headerRecord(request),
      query: queryRecord(url),
      params,
      body: body.length > 0 ? { bytes: body } : undefined,
    };
    let rpcResponse: RpcInvocationResponse;
    try {
      rpcResponse = await route.invoke(route.fn, {
        inputData: [{ name: route.triggerName, data: { http } }],
        triggerMetadata: {},
        reason: `This function was programmatically called via the host APIs (${method} ${url.pathname}).`,
      });
    } catch {
      response.writeHead(500).end();
      return;
    }
    const output = route.httpBindingName ? outputValue(rpcResponse, route.httpBindingName) : undefined;
    writeRpcResponse(response, output?.http);
  }

  #logHost(level: string, message: string): void {
    this.#options.log({ level, category: HOST_CATEGORY.http, message });
  }
}
