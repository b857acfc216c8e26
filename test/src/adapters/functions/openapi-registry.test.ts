import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import {
  documentRoute,
  openApiDocument,
  openApiPath,
} from '../../../../src/adapters/functions/openapi-registry.js';

interface Tree {
  name: string;
  children: Tree[];
}
const tree: z.ZodType<Tree> = z.lazy(() => z.object({ name: z.string(), children: z.array(tree) }));

type Doc = {
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components: { schemas: Record<string, unknown> };
};

describe('the OpenAPI registry', () => {
  it('turns a route template into an OpenAPI path (constraints and optional marks dropped)', () => {
    expect(openApiPath('connections/{tenantId:guid}/runs/{runId?}')).toBe(
      '/api/connections/{tenantId}/runs/{runId}',
    );
    expect(openApiPath('/health/')).toBe('/api/health');
  });

  it('documents parameters, body, responses and the usual refusals of a tenant route', () => {
    documentRoute({
      method: 'POST',
      route: 'connections/{tenantId}/things/{thingId}',
      summary: 'a thing',
      auth: 'function',
      query: z.object({ top: z.coerce.number().int().min(1).default(10), q: z.string().optional() }),
      body: z.object({ name: z.string().min(1) }).strict(),
      responses: { 201: { description: 'made', schema: z.object({ id: z.string() }) } },
    });
    const operation = (openApiDocument() as Doc).paths['/api/connections/{tenantId}/things/{thingId}']!.post!;
    expect(operation.parameters).toEqual([
      expect.objectContaining({ name: 'tenantId', in: 'path', required: true }),
      { name: 'thingId', in: 'path', required: true, schema: { type: 'string' } },
      expect.objectContaining({ name: 'top', in: 'query', required: false }),
      expect.objectContaining({ name: 'q', in: 'query', required: false }),
    ]);
    expect(operation.requestBody).toMatchObject({
      required: true,
      content: {
        'application/json': { schema: { type: 'object', required: ['name'], additionalProperties: false } },
      },
    });
    expect(Object.keys(operation.responses as object).sort()).toEqual(['201', '400', '401', '404']);
    expect(operation.security).toEqual([{ functionKey: [] }, { functionKeyQuery: [] }]);
  });

  it('moves the definitions of a recursive schema to components, every $ref resolving', () => {
    documentRoute({
      method: 'PUT',
      route: 'trees',
      summary: 'a tree',
      auth: 'anonymous',
      body: tree,
      responses: { 200: { description: 'ok' } },
    });
    const document = openApiDocument() as Doc;
    const text = JSON.stringify(document);
    const refs = [...text.matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      expect(ref).toMatch(/^#\/components\/schemas\//);
      expect(document.components.schemas[ref.slice('#/components/schemas/'.length)], ref).toBeDefined();
    }
    expect(text).not.toContain('$defs');
    expect(document.paths['/api/trees']!.put!.security).toEqual([]);
  });
});
