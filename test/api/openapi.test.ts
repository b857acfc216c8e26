/**
 * Issue 11, point 5: GET /api/openapi.json is a valid OpenAPI 3.1 document that lists exactly the
 * registered HTTP functions (paths and methods), from the zod schemas the triggers parse with.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

import { connectionSettingsSchema, credentialSchema } from '../../src/domain/connection-settings.js';
import { PipelineUnderTest } from '../pipeline/pipeline-harness.js';
import { registeredRoutes } from './registered-routes.js';

type Operation = {
  security?: unknown[];
  parameters?: { name: string; in: string }[];
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, unknown>;
};
type Document = { openapi: string; paths: Record<string, Record<string, Operation>> };

describe('the OpenAPI document', () => {
  let pipeline: PipelineUnderTest;
  let document: Document;

  beforeAll(async () => {
    pipeline = await PipelineUnderTest.start({
      standin: { users: 3, seed: 11 },
      schedule: { kind: 'manual' },
    });
    const response = await fetch(`${pipeline.env.host().httpBaseUrl}/api/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    document = (await response.json()) as Document;
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  it('is served anonymously and is a valid OpenAPI 3.1 document (@seriousme/openapi-schema-validator)', async () => {
    expect(document.openapi).toMatch(/^3\.1\./);
    const validator = new Validator();
    const result = await validator.validate(document);
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('lists exactly the registered HTTP functions: every path and method, nothing else', async () => {
    const registered = (await registeredRoutes()).map((r) => `${r.method} /api/${r.route}`).sort();
    const documented = Object.entries(document.paths)
      .flatMap(([path, operations]) =>
        Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
      )
      .sort();
    expect(documented).toEqual(registered);
  });

  it('says which routes take the function key, and gives each tenant route its 400, 401 and 404', async () => {
    for (const route of await registeredRoutes()) {
      const operation = document.paths[`/api/${route.route}`]![route.method.toLowerCase()]!;
      expect(operation.security?.length ?? 0, `${route.method} ${route.route}`).toBe(
        route.authLevel === 'anonymous' ? 0 : 2,
      );
      if (route.authLevel !== 'anonymous') expect(Object.keys(operation.responses)).toContain('401');
      if (route.route.includes('{tenantId}')) {
        expect(Object.keys(operation.responses), route.route).toEqual(expect.arrayContaining(['400', '404']));
        expect(operation.parameters?.find((p) => p.name === 'tenantId')?.in).toBe('path');
      }
    }
  });

  it("documents a trigger's request body from the very schema it parses with", () => {
    const sync =
      document.paths['/api/connections/{tenantId}/sync']!.post!.requestBody!.content['application/json']!
        .schema;
    expect(sync).toMatchObject({
      type: 'object',
      properties: { full: { type: 'boolean', default: false } },
      additionalProperties: false,
    });
    const settings = document.paths['/api/connections/{tenantId}/settings']!.put!.requestBody!.content[
      'application/json'
    ]!.schema as { properties: Record<string, unknown>; required: string[] };
    const { $schema: _dialect, ...credential } = z.toJSONSchema(credentialSchema, { io: 'input' });
    expect(settings.properties.credential).toEqual(credential);
    const input = z.toJSONSchema(connectionSettingsSchema, { io: 'input', unrepresentable: 'any' }) as {
      properties: Record<string, unknown>;
      required: string[];
    };
    expect(Object.keys(settings.properties).sort()).toEqual(Object.keys(input.properties).sort());
    expect([...settings.required].sort()).toEqual([...input.required].sort());
  });
});
