import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { z } from 'zod';

import { type ApiRefusal, type ApiResult, issuesOf } from '../../usecases/api-result.js';

/**
 * The HTTP API's edges, shared by its triggers: a JSON body or the query parsed with a zod schema
 * (400 with field paths), and a use case's result mapped to a response.
 */
export type Parsed<T> =
  { readonly ok: true; readonly data: T } | { readonly ok: false; readonly response: HttpResponseInit };

export async function parseBody<S extends z.ZodType>(
  request: HttpRequest,
  schema: S,
  error = 'invalid body',
): Promise<Parsed<z.infer<S>>> {
  const text = await request.text();
  let json: unknown;
  try {
    json = text.trim() === '' ? undefined : (JSON.parse(text) as unknown);
  } catch (failure) {
    return {
      ok: false,
      response: refusalResponse({
        ok: false,
        status: 400,
        error,
        issues: [{ path: '', message: `not JSON: ${(failure as Error).message}` }],
      }),
    };
  }
  return parseWith(schema, json, error);
}

/** The query string as an object of its first values, parsed with `schema`. */
export function parseQuery<S extends z.ZodType>(request: HttpRequest, schema: S): Parsed<z.infer<S>> {
  const query: Record<string, string> = {};
  for (const [name, value] of request.query.entries()) if (!(name in query)) query[name] = value;
  return parseWith(schema, query, 'invalid query');
}

function parseWith<S extends z.ZodType>(schema: S, value: unknown, error: string): Parsed<z.infer<S>> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, data: parsed.data };
  return {
    ok: false,
    response: refusalResponse({ ok: false, status: 400, error, issues: issuesOf(parsed.error) }),
  };
}

/** A use case's result: `status` (200 unless told) with the value as JSON, or its refusal. */
export function respond<T>(
  result: ApiResult<T>,
  status = 200,
  headers?: Record<string, string>,
): HttpResponseInit {
  if (!result.ok) return refusalResponse(result);
  return { status, jsonBody: result.value, ...(headers ? { headers } : {}) };
}

export function refusalResponse(refusal: ApiRefusal): HttpResponseInit {
  return {
    status: refusal.status,
    jsonBody: {
      error: refusal.error,
      ...(refusal.issues ? { issues: refusal.issues } : {}),
      ...refusal.details,
    },
  };
}

/** The `If-Match` header's value without quotes or a weak prefix (`3`, `"3"`, `W/"3"` → `3`); undefined when absent or `*`. */
export function ifMatchOf(request: HttpRequest, unquote = true): string | undefined {
  const value = request.headers.get('if-match')?.trim();
  if (!value || value === '*') return undefined;
  if (!unquote) return value;
  return value.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}
