/**
 * The contract between the stand-in's HTTP server (which parses requests, checks bearer tokens,
 * applies the fault plan and writes Graph-shaped errors) and the modules that serve routes.
 * Every route module exports `register…Routes(routes: RouteTable, deps)`.
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface StandinRequest {
  readonly method: string;
  /** Path without the version prefix, e.g. `/users/delta` for `https://host/v1.0/users/delta`. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  /** Parsed JSON body when the content type is JSON, otherwise undefined. */
  readonly body: unknown;
  readonly rawBody: Buffer;
  /** Absolute base URL of the API this route belongs to, e.g. `https://127.0.0.1:4443/v1.0`. */
  readonly baseUrl: string;
  /** Claims of the validated bearer token (absent for anonymous routes). */
  readonly token?: { readonly appId: string; readonly tenantId: string; readonly roles: readonly string[] };
}

export interface StandinResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Objects are written as JSON (`application/json`), strings as text, Buffers as bytes. */
  readonly body?: unknown;
}

export type RouteParams = Readonly<Record<string, string>>;
export type RouteHandler = (
  req: StandinRequest,
  params: RouteParams,
) => StandinResponse | Promise<StandinResponse>;

export interface RouteOptions {
  /** Which credential the route needs: a Graph token (default), a Key Vault token, or none. */
  readonly auth?: 'graph' | 'keyvault' | 'none';
  /** Graph application permissions of which at least one must be granted (403 otherwise). */
  readonly anyOfRoles?: readonly string[];
}

export interface RouteTable {
  /** `pattern` uses `{name}` segments, e.g. `/users/{id}/manager`. */
  add(method: string, pattern: string, handler: RouteHandler, options?: RouteOptions): void;
}

/** Builds a Graph error body: `{ error: { code, message, innerError: { request-id, date } } }`. */
export function graphError(status: number, code: string, message: string): StandinResponse {
  return {
    status,
    body: {
      error: {
        code,
        message,
        innerError: {
          date: new Date().toISOString().replace(/\.\d{3}Z$/, ''),
          'request-id': crypto.randomUUID(),
          'client-request-id': crypto.randomUUID(),
        },
      },
    },
  };
}
