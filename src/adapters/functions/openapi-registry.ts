import { z } from 'zod';

import { tenantIdSchema } from '../../domain/tenant-id.js';

/**
 * The HTTP API's OpenAPI 3.1 document, built from the very zod schemas the triggers parse with (one
 * source of truth): each trigger file documents its route at import time, next to its `app.http(…)`,
 * and `GET /api/openapi.json` (functions/openapi.ts) serves what the loaded triggers documented.
 * A test (test/api/openapi.test.ts) checks that the document's paths and methods are exactly the
 * registered HTTP functions, so a route nobody documents fails it.
 *
 * How to document a route, in the trigger file (schemas are the ones the handler parses with):
 *
 * ```ts
 * import { documentRoute } from '../src/adapters/functions/openapi-registry.js';
 *
 * const bodySchema = z.object({ full: z.boolean().default(false) }).strict();
 *
 * documentRoute({
 *   method: 'POST',
 *   route: 'connections/{tenantId}/sync',      // exactly the app.http route, without `api/`
 *   summary: 'Request a delta (or full) round now',
 *   tags: ['runs'],
 *   auth: 'function',                          // as the app.http authLevel
 *   body: bodySchema,                          // a request body (JSON unless `bodyContentType`)
 *   query: z.object({ … }),                    // optional: a zod object, one parameter a property
 *   responses: { 202: { description: 'accepted', schema: z.object({ requested: z.boolean() }) } },
 * });
 * app.http('sync-now', { methods: ['POST'], authLevel: 'function', route: 'connections/{tenantId}/sync', handler });
 * ```
 *
 * Path parameters come from the route's `{name}`s (a string each; `{tenantId}` a GUID), unless `params`
 * gives their schemas. The usual refusals are added unless the route gives its own: 400 (field paths)
 * when there is a body, a query or a `{tenantId}`, 401 for `auth: 'function'`, 404 for a `{tenantId}`,
 * 409 for an app-side route (tag `app`: SYNC_BUCKETS differs from the tenant's partitioning).
 * Documenting the same method and route twice replaces the first (a module loaded again).
 */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ResponseDoc {
  readonly description: string;
  /** The response body (JSON unless `contentType`); none when absent. */
  readonly schema?: z.ZodType;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface RouteDoc {
  readonly method: HttpMethod;
  /** The route as `app.http` registers it (`connections/{tenantId}/runs`), without the `api/` prefix. */
  readonly route: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags?: readonly string[];
  /** As the function's `authLevel`: `function` (a function key, or an Entra token in Azure) or `anonymous`. */
  readonly auth: 'function' | 'anonymous';
  /** Path parameters' schemas by name; by default each `{name}` is a string and `{tenantId}` a GUID. */
  readonly params?: z.ZodType;
  /** The query string, a zod object: one parameter each property. */
  readonly query?: z.ZodType;
  /** Request headers the route reads (e.g. `If-Match`), a zod object of strings. */
  readonly headers?: z.ZodType;
  readonly body?: z.ZodType;
  readonly bodyContentType?: string;
  /** Whether a body must be sent; by default when the schema refuses `undefined`. */
  readonly bodyRequired?: boolean;
  readonly responses: Readonly<Record<number, ResponseDoc>>;
}

const routes = new Map<string, RouteDoc>();

/** Documents one method of one route (see the module's comment). Call it at import time. */
export function documentRoute(doc: RouteDoc): void {
  routes.set(`${doc.method} ${normalizeRoute(doc.route)}`, doc);
}

/** Every documented route, in the order documented. */
export function documentedRoutes(): readonly RouteDoc[] {
  return [...routes.values()];
}

/** `connections/{tenantId:guid}/x/{name?}` → `/api/connections/{tenantId}/x/{name}`. */
export function openApiPath(route: string): string {
  return `/api/${normalizeRoute(route)}`.replace(/\/$/, '');
}

function normalizeRoute(route: string): string {
  return route.replace(/^\/+|\/+$/g, '').replace(/\{\*?([A-Za-z_][A-Za-z0-9_]*)(?::[a-z]+)?\??\}/g, '{$1}');
}

function pathParameterNames(route: string): string[] {
  return [...normalizeRoute(route).matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((match) => match[1]!);
}

type JsonSchema = Record<string, unknown>;

/** The shape every refusal has: `{ error, issues?: [{ path, message, position? }] }`. */
export const errorSchema = z
  .object({
    error: z.string(),
    issues: z
      .array(z.object({ path: z.string(), message: z.string(), position: z.number().int().optional() }))
      .optional(),
  })
  .loose();

/** Builds the OpenAPI 3.1 document of every documented route. */
export function openApiDocument(info: { title?: string; version?: string } = {}): Record<string, unknown> {
  const components = new Components();
  const paths: Record<string, Record<string, unknown>> = {};
  for (const doc of routes.values()) {
    const path = openApiPath(doc.route);
    (paths[path] ??= {})[doc.method.toLowerCase()] = operationOf(doc, components);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: info.title ?? 'Entra ID → people directory sync',
      version: info.version ?? '0.1.0',
      description:
        'The admin and app API of the sync. Locally every `function` route takes the function key ' +
        '(`x-functions-key` header or `?code=`); in Azure, an Entra ID token.',
    },
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas: components.schemas,
      securitySchemes: {
        functionKey: { type: 'apiKey', in: 'header', name: 'x-functions-key' },
        functionKeyQuery: { type: 'apiKey', in: 'query', name: 'code' },
      },
    },
  };
}

function operationOf(doc: RouteDoc, components: Components): Record<string, unknown> {
  const names = pathParameterNames(doc.route);
  const pathSchemas = doc.params ? objectProperties(components.convert(doc.params, 'input')) : undefined;
  const parameters: Record<string, unknown>[] = names.map((name) => ({
    name,
    in: 'path',
    required: true,
    schema:
      pathSchemas?.properties[name] ??
      (name === 'tenantId' ? components.convert(tenantIdSchema, 'input') : { type: 'string' }),
  }));
  for (const [where, schema] of [
    ['query', doc.query],
    ['header', doc.headers],
  ] as const) {
    if (!schema) continue;
    const { properties, required } = objectProperties(components.convert(schema, 'input'));
    for (const [name, property] of Object.entries(properties)) {
      const { description, ...rest } = property;
      parameters.push({
        name,
        in: where,
        required: required.includes(name),
        ...(typeof description === 'string' ? { description } : {}),
        schema: rest,
      });
    }
  }
  const responses: Record<string, unknown> = {};
  const refusal = (description: string) => ({
    description,
    content: { 'application/json': { schema: components.convert(errorSchema, 'output') } },
  });
  for (const [status, response] of Object.entries(doc.responses)) {
    responses[status] = {
      description: response.description,
      ...(response.headers
        ? {
            headers: Object.fromEntries(
              Object.entries(response.headers).map(([name, description]) => [
                name,
                { description, schema: { type: 'string' } },
              ]),
            ),
          }
        : {}),
      ...(response.schema
        ? {
            content: {
              [response.contentType ?? 'application/json']: {
                schema: components.convert(response.schema, 'output'),
              },
            },
          }
        : {}),
    };
  }
  const tenant = names.includes('tenantId');
  if ((doc.body || doc.query || tenant) && !responses['400'])
    responses['400'] = refusal('invalid input: each problem named by its field path');
  if (doc.auth === 'function' && !responses['401'])
    responses['401'] = { description: 'no valid function key (locally) or Entra token (in Azure)' };
  if (tenant && !responses['404']) responses['404'] = refusal('no connection for this tenant');
  // The app-side routes work on a tenant's rows (resolve-tenant.ts).
  if (doc.tags?.includes('app') && !responses['409'])
    responses['409'] = refusal("SYNC_BUCKETS differs from the bucket count of the tenant's first round");
  return {
    operationId: operationIdOf(doc),
    summary: doc.summary,
    ...(doc.description ? { description: doc.description } : {}),
    ...(doc.tags ? { tags: [...doc.tags] } : {}),
    ...(doc.auth === 'function'
      ? { security: [{ functionKey: [] }, { functionKeyQuery: [] }] }
      : { security: [] }),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(doc.body
      ? {
          requestBody: {
            required: doc.bodyRequired ?? !doc.body.safeParse(undefined).success,
            content: {
              [doc.bodyContentType ?? 'application/json']: { schema: components.convert(doc.body, 'input') },
            },
          },
        }
      : {}),
    responses,
  };
}

function operationIdOf(doc: RouteDoc): string {
  const words = normalizeRoute(doc.route)
    .split('/')
    .map((segment) =>
      segment
        .replace(/[{}]/g, '')
        .replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase()),
    );
  return [doc.method.toLowerCase(), ...words.map((w) => w.charAt(0).toUpperCase() + w.slice(1))].join('');
}

function objectProperties(schema: JsonSchema): {
  properties: Record<string, JsonSchema>;
  required: string[];
} {
  return {
    properties: (schema.properties ?? {}) as Record<string, JsonSchema>,
    required: (schema.required ?? []) as string[],
  };
}

/**
 * zod → JSON Schema 2020-12 (OpenAPI 3.1's dialect) with zod's own `z.toJSONSchema`; the `$defs` a
 * recursive or identified schema makes are moved to `components.schemas`, their `$ref`s rewritten.
 */
class Components {
  readonly schemas: Record<string, JsonSchema> = {};
  private count = 0;

  convert(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
    const converted = z.toJSONSchema(schema, {
      target: 'draft-2020-12',
      io,
      unrepresentable: 'any',
    }) as unknown as JsonSchema;
    const { $schema: _dialect, $defs, ...rest } = converted;
    const selfReferencing = JSON.stringify(rest).includes('"$ref":"#"');
    if ((!$defs || typeof $defs !== 'object') && !selfReferencing) return rest;
    this.count += 1;
    const prefix = `S${this.count}_`;
    const rewrite = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(rewrite);
      if (value === null || typeof value !== 'object') return value;
      return Object.fromEntries(
        Object.entries(value).map(([key, inner]) => [
          key,
          key === '$ref' && typeof inner === 'string' && inner.startsWith('#/$defs/')
            ? `#/components/schemas/${prefix}${inner.slice('#/$defs/'.length)}`
            : key === '$ref' && inner === '#'
              ? `#/components/schemas/${prefix}root`
              : rewrite(inner),
        ]),
      );
    };
    for (const [name, def] of Object.entries(($defs ?? {}) as Record<string, unknown>))
      this.schemas[`${prefix}${name}`] = rewrite(def) as JsonSchema;
    const root = rewrite(rest) as JsonSchema;
    // A schema that refers to itself (`$ref: "#"`) is a component of its own, referred to by name.
    if (!selfReferencing) return root;
    this.schemas[`${prefix}root`] = root;
    return { $ref: `#/components/schemas/${prefix}root` };
  }
}
