import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { z } from 'zod';

import { consentPage } from '../src/adapters/functions/consent-page.js';
import { parseQuery } from '../src/adapters/functions/http-api.js';
import { guardedAuthLevel } from '../src/adapters/functions/http-auth.js';
import { loggerFor } from '../src/adapters/functions/invocation-logger.js';
import { connectServices } from '../src/connect-services.js';
import { consentCallbackSchema } from '../src/domain/consent.js';
import { completeConsent, startConsent } from '../src/usecases/connect-by-consent.js';

const startQuerySchema = z.object({ tenant: z.string().max(64).optional() });

/** Where Entra sends the admin back: SYNC_PUBLIC_BASE_URL, else this request's own origin. */
function baseUrlOf(request: HttpRequest): string {
  const configured = connectServices().notifications.app.settings.SYNC_PUBLIC_BASE_URL;
  return (configured ?? new URL(request.url).origin).replace(/\/+$/, '');
}

/**
 * GET /api/connect (`?tenant=<id>` to ask one tenant, else `organizations`): 302 to Entra's admin
 * consent endpoint with a signed, expiring, single-use state. An admin route.
 */
export async function connect(request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  const query = parseQuery(request, startQuerySchema);
  if (!query.ok) return query.response;
  const started = await startConsent(connectServices().consentDeps(), {
    tenant: query.data.tenant,
    redirectUri: `${baseUrlOf(request)}/api/connect/callback`,
  });
  if (!started.ok) return { status: started.status, jsonBody: { error: started.error } };
  return { status: 302, headers: { location: started.location, 'cache-control': 'no-store' } };
}

/**
 * GET /api/connect/callback: Entra's redirect after the consent screen (anonymous: the signed state
 * is the proof of who started it). Answers a small HTML page that says what happened and what to do.
 */
export async function connectCallback(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const connectUrl = `${baseUrlOf(request)}/api/connect`;
  const query = parseQuery(request, consentCallbackSchema);
  if (!query.ok) {
    return consentPage(
      { kind: 'refused', status: 400, reason: 'the answer is malformed: start again' },
      connectUrl,
    );
  }
  const outcome = await completeConsent(connectServices().consentDeps(), query.data, loggerFor(context));
  return consentPage(outcome, connectUrl);
}

app.http('connect', {
  methods: ['GET'],
  authLevel: guardedAuthLevel(),
  route: 'connect',
  handler: connect,
});

app.http('connect-callback', {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'connect/callback',
  handler: connectCallback,
});
