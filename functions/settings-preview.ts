import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';

import { parseBody, respond } from '../src/adapters/functions/http-api.js';
import { guardedAuthLevel } from '../src/adapters/functions/http-auth.js';
import { loggerFor } from '../src/adapters/functions/invocation-logger.js';
import { documentRoute } from '../src/adapters/functions/openapi-registry.js';
import { apiDeps } from '../src/api-services.js';
import { connectionSettingsSchema } from '../src/domain/connection-settings.js';
import { previewSettings } from '../src/usecases/preview-settings.js';
import { requireConnection } from '../src/usecases/resolve-tenant.js';

/**
 * POST /api/connections/{tenantId}/settings/preview with a full settings document (the one PUT
 * …/settings takes, checked the same way): what saving it would do to today's directory, planned
 * from the mirror alone (no Graph request, nothing written): counts per change kind and samples.
 */
export async function postSettingsPreview(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const tenant = await requireConnection(apiDeps().pipeline, request.params.tenantId ?? '');
  if (!tenant.ok) return respond(tenant);
  const tenantId = tenant.value;
  const body = await parseBody(request, connectionSettingsSchema, 'invalid settings');
  if (!body.ok) return body.response;
  const started = Date.now();
  const result = await previewSettings(apiDeps(), tenantId, body.data);
  if (result.ok) {
    loggerFor(context).info('settings previewed', {
      tenantId,
      usersPlanned: result.value.usersPlanned,
      ms: Date.now() - started,
    });
  }
  return respond(result);
}

documentRoute({
  method: 'POST',
  route: 'connections/{tenantId}/settings/preview',
  summary: 'What saving these settings would do now, planned from the mirror (nothing written)',
  tags: ['settings'],
  auth: 'function',
  body: connectionSettingsSchema,
  responses: { 200: { description: 'counts per change kind, samples, the gate, teams' } },
});
app.http('settings-preview', {
  methods: ['POST'],
  authLevel: guardedAuthLevel(),
  route: 'connections/{tenantId}/settings/preview',
  handler: postSettingsPreview,
});
