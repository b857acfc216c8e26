import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { z } from 'zod';

import { documentRoute, openApiDocument } from '../src/adapters/functions/openapi-registry.js';

/**
 * GET /api/openapi.json: the HTTP API's OpenAPI 3.1 document, built from the zod schemas every trigger
 * parses with (src/adapters/functions/openapi-registry.ts). Anonymous, as the document holds no data
 * and no secret, so a tool can read it before it has a key.
 */
export function openApiHttp(_request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  return Promise.resolve({
    status: 200,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-cache' },
    body: JSON.stringify(openApiDocument()),
  });
}

documentRoute({
  method: 'GET',
  route: 'openapi.json',
  summary: 'This document: the OpenAPI 3.1 description of every HTTP route',
  tags: ['meta'],
  auth: 'anonymous',
  responses: {
    200: { description: 'the OpenAPI document', schema: z.object({ openapi: z.string() }).loose() },
  },
});
app.http('openapi', {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'openapi.json',
  handler: openApiHttp,
});
