/**
 * `POST /$batch`: up to 20 requests, each sent through the same dispatcher as a top-level request (token,
 * permissions, fault plan, counters), honouring `dependsOn` (424 when a dependency failed).
 */
import { z } from 'zod';

import {
  type DispatchInput,
  type DispatchResult,
  GRAPH_VERSION_PREFIX,
  headerValue,
} from '../http/dispatcher.js';
import type { RouteTable, StandinRequest, StandinResponse } from '../http/route-table.js';
import { TenantError } from '../tenant/tenant-store.js';

export const MAX_BATCH_REQUESTS = 20;

const batchSchema = z.object({
  requests: z.array(
    z.object({
      id: z.string().min(1),
      method: z.string().min(1),
      url: z.string().min(1),
      headers: z.record(z.string(), z.string()).optional(),
      body: z.unknown().optional(),
      dependsOn: z.array(z.string()).optional(),
    }),
  ),
});
type BatchItem = z.infer<typeof batchSchema>['requests'][number];

export interface BatchItemResponse {
  readonly id: string;
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: unknown;
}

export interface BatchRouteDeps {
  readonly dispatch: (input: DispatchInput) => Promise<DispatchResult>;
}

export function registerBatchRoute(routes: RouteTable, deps: BatchRouteDeps): void {
  routes.add('POST', '/$batch', (req) => runBatch(req, deps));
}

async function runBatch(req: StandinRequest, deps: BatchRouteDeps): Promise<StandinResponse> {
  const parsed = batchSchema.safeParse(req.body);
  if (!parsed.success) throw new TenantError(400, 'BadRequest', 'Invalid batch payload.');
  const items = parsed.data.requests;
  if (items.length > MAX_BATCH_REQUESTS) {
    throw new TenantError(
      400,
      'BadRequest',
      `The number of requests in the batch exceeds the limit of ${MAX_BATCH_REQUESTS}.`,
    );
  }
  const ids = new Set(items.map((i) => i.id));
  if (ids.size !== items.length)
    throw new TenantError(400, 'BadRequest', 'Batch request ids must be unique.');
  for (const item of items) {
    for (const dep of item.dependsOn ?? []) {
      if (!ids.has(dep) || dep === item.id) {
        throw new TenantError(
          400,
          'BadRequest',
          `Request '${item.id}' depends on an unknown request '${dep}'.`,
        );
      }
    }
  }
  const running = new Map<string, Promise<BatchItemResponse>>();
  const run = (item: BatchItem, chain: Set<string>): Promise<BatchItemResponse> => {
    const existing = running.get(item.id);
    if (existing) return existing;
    if (chain.has(item.id))
      throw new TenantError(400, 'BadRequest', 'The batch dependsOn graph has a cycle.');
    const next = new Set(chain).add(item.id);
    const dependencies = (item.dependsOn ?? []).map((d) =>
      run(
        items.find((i) => i.id === d)!,
        next,
      ),
    );
    const promise = Promise.all(dependencies).then(async (done) => {
      if (done.some((d) => d.status < 200 || d.status > 299)) return failedDependency(item.id);
      return runItem(item, req, deps);
    });
    running.set(item.id, promise);
    return promise;
  };
  const responses = await Promise.all(items.map((item) => run(item, new Set())));
  return { status: 200, body: { responses } };
}

async function runItem(
  item: BatchItem,
  req: StandinRequest,
  deps: BatchRouteDeps,
): Promise<BatchItemResponse> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(item.headers ?? {})) headers[name.toLowerCase()] = value;
  const authorization = headerValue(req.headers, 'authorization');
  if (authorization) headers.authorization = authorization;
  let rawBody = Buffer.alloc(0);
  if (item.body !== undefined && item.body !== null) {
    if (typeof item.body === 'string') {
      rawBody = Buffer.from(item.body, 'utf8');
    } else {
      rawBody = Buffer.from(JSON.stringify(item.body), 'utf8');
      headers['content-type'] ??= 'application/json';
    }
  }
  const url = item.url.replace(/^https?:\/\/[^/]+\/v1\.0/i, '');
  const result = await deps.dispatch({
    method: item.method,
    pathAndQuery: `${GRAPH_VERSION_PREFIX}/${url.replace(/^\/+/, '')}`,
    headers,
    rawBody,
    inBatch: true,
    fromLoopback: false,
  });
  const responseHeaders = { ...result.headers };
  delete responseHeaders['client-request-id'];
  delete responseHeaders['x-ms-ags-diagnostic'];
  let body: unknown = null;
  if (result.json !== undefined) body = result.json;
  else if (result.body) body = result.body.toString('base64');
  return { id: item.id, status: result.status, headers: responseHeaders, body };
}

function failedDependency(id: string): BatchItemResponse {
  return {
    id,
    status: 424,
    headers: { 'Content-Type': 'application/json' },
    body: {
      error: {
        code: 'FailedDependency',
        message: 'The request could not be processed because a request it depends on failed.',
      },
    },
  };
}
