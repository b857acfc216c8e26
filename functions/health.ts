import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';

/** Liveness probe: answers 200 with the app's name and version. */
export async function health(_request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  return Promise.resolve({ status: 200, jsonBody: { status: 'ok', app: 'entra-people-sync' } });
}

app.http('health', { methods: ['GET'], authLevel: 'anonymous', route: 'health', handler: health });
