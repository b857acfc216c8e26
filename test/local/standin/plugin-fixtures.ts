/**
 * Fixture bookkeeping and helpers shared by the plug-in tests (subscriptions, Key Vault, mail): which Graph
 * fixtures they cover, a shape comparison, and an in-process dispatcher over the stand-in's Router.
 */
import { readFileSync } from 'node:fs';

import { expect } from 'vitest';

import type { StandinRequest, StandinResponse } from '../../../local/standin/http/route-table.js';
import type { Router } from '../../../local/standin/http/router.js';

/** Fixtures in /work/shared/fixtures/graph/ whose shapes the plug-in tests compare. */
export const PLUGIN_FIXTURES_COVERED: readonly string[] = [
  'subscription.create.response.json',
  'subscription.update.response.json',
  'subscription.create.webhooks-doc.request.json',
  'subscription.reauthorize.request.json',
  'notification.validation-request.json',
  'notification.messages.created.json',
  'lifecycle.structure.json',
  'lifecycle.reauthorization-required.json',
  'lifecycle.subscription-removed.json',
  'lifecycle.missed.json',
  'sendmail.request.json',
  'error.sendmail.invalid-mime.json',
];

export const FIXTURES_DIR = '/work/shared/fixtures/graph';

export interface GraphFixture {
  readonly request: {
    readonly method: string;
    readonly url: string;
    readonly headers?: Readonly<Record<string, string>>;
    readonly body?: unknown;
  } | null;
  readonly response: {
    readonly status: number;
    readonly headers?: Readonly<Record<string, string>>;
    readonly body?: unknown;
  } | null;
}

export function loadFixture(name: string): GraphFixture {
  return JSON.parse(readFileSync(`${FIXTURES_DIR}/${name}`, 'utf8')) as GraphFixture;
}

/**
 * The structure of a JSON value: object keys (recursively), arrays by their first element, and every
 * primitive (string, number, boolean, null) as `value`, since fixtures hold placeholders.
 */
export function shapeOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? [] : [shapeOf(value[0])];
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, shapeOf((value as Record<string, unknown>)[key])]),
    );
  }
  return 'value';
}

/** Every property of the fixture (recursively) is present in `actual`, with the same nesting. */
export function expectShapeCovers(actual: unknown, fixture: unknown): void {
  expect(pick(shapeOf(actual), shapeOf(fixture))).toEqual(shapeOf(fixture));
}

function pick(actual: unknown, wanted: unknown): unknown {
  if (Array.isArray(wanted) && Array.isArray(actual))
    return wanted.length === 0 ? [] : [pick(actual[0], wanted[0])];
  if (
    typeof wanted === 'object' &&
    wanted !== null &&
    typeof actual === 'object' &&
    actual !== null &&
    !Array.isArray(actual)
  ) {
    const source = actual as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(wanted)
        .filter((key) => key in source)
        .map((key) => [key, pick(source[key], (wanted as Record<string, unknown>)[key])]),
    );
  }
  return actual;
}

export interface InProcessCall {
  readonly body?: unknown;
  readonly rawBody?: Buffer;
  readonly contentType?: string;
  readonly query?: Record<string, string>;
  readonly roles?: readonly string[];
  readonly baseUrl?: string;
}

/**
 * Dispatches one request to a route registered on `router`, as the stand-in's server would after token
 * validation (the roles are the token's `roles`; a route's `anyOfRoles` gives 403 when none is granted).
 */
export async function callRoute(
  router: Router,
  method: string,
  path: string,
  call: InProcessCall = {},
): Promise<StandinResponse> {
  const match = router.match(method, path);
  if (match.kind !== 'found') throw new Error(`no route for ${method} ${path}`);
  const roles = call.roles ?? [];
  const anyOf = match.route.options.anyOfRoles;
  if (anyOf && !anyOf.some((role) => roles.includes(role))) return { status: 403 };
  const rawBody = call.rawBody ?? Buffer.from(call.body === undefined ? '' : JSON.stringify(call.body));
  const req: StandinRequest = {
    method,
    path,
    query: new URLSearchParams(call.query ?? {}),
    headers: { 'content-type': call.contentType ?? 'application/json' },
    body: call.body,
    rawBody,
    baseUrl: call.baseUrl ?? 'https://127.0.0.1:4443/v1.0',
    token: { appId: 'test-app', tenantId: 'test-tenant', roles },
  };
  return match.route.handler(req, match.params);
}
