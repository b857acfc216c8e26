import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { z } from 'zod';

import { documentRoute } from '../src/adapters/functions/openapi-registry.js';

/** Liveness probe: answers 200 with the app's name and version. */
export async function health(_request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  return Promise.resolve({ status: 200, jsonBody: { status: 'ok', app: 'entra-people-sync' } });
}

documentRoute({
  method: 'GET',
  route: 'health',
  summary: 'Liveness probe',
  tags: ['meta'],
  auth: 'anonymous',
  responses: {
    200: { description: 'alive', schema: z.object({ status: z.literal('ok'), app: z.string() }) },
  },
});
app.http('health', { methods: ['GET'], authLevel: 'anonymous', route: 'health', handler: health });
