import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { z } from 'zod';

import { consentPage } from '../src/adapters/functions/consent-page.js';
import { parseQuery } from '../src/adapters/functions/http-api.js';
import { guardedAuthLevel } from '../src/adapters/functions/http-auth.js';
import { loggerFor } from '../src/adapters/functions/invocation-logger.js';
import { documentRoute } from '../src/adapters/functions/openapi-registry.js';
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

const page = (description: string) => ({ description, contentType: 'text/html' });

documentRoute({
  method: 'GET',
  route: 'connect',
  summary: 'Connect a tenant by admin consent (multi-tenant mode)',
  description:
    "Redirects to Entra's admin consent endpoint (`/{tenant|organizations}/v2.0/adminconsent`) with a signed, expiring, single-use state; the admin lands on `/api/connect/callback` afterwards.",
  tags: ['connections'],
  auth: 'function',
  query: startQuerySchema,
  responses: {
    302: { description: 'to the admin consent screen', headers: { Location: 'the admin consent URL' } },
    404: { description: 'multi-tenant mode is off' },
  },
});
documentRoute({
  method: 'GET',
  route: 'connect/callback',
  summary: "Entra's redirect after the admin consent screen",
  description:
    'Verifies the state, proves the tenant by signing in to it as the app, names missing permissions, and saves the connection (enabled only with every permission), its subscriptions and its initial run. Answers an HTML page.',
  tags: ['connections'],
  auth: 'anonymous',
  query: consentCallbackSchema,
  responses: {
    200: page('connected, permissions missing (saved disabled), or the consent refused: what to do'),
    400: page('no, a forged, an expired or an already used state'),
    403: page('the tenant the answer names could not be proven'),
    404: page('multi-tenant mode is off'),
  },
});

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
