import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';

import { parseBody, respond } from '../src/adapters/functions/http-api.js';
import { loggerFor } from '../src/adapters/functions/invocation-logger.js';
import { apiDeps } from '../src/api-services.js';
import { connectionSettingsSchema } from '../src/domain/connection-settings.js';
import { previewSettings } from '../src/usecases/preview-settings.js';

/**
 * POST /api/connections/{tenantId}/settings/preview with a full settings document (the one PUT
 * …/settings takes, checked the same way): what saving it would do to today's directory, planned
 * from the mirror alone (no Graph request, nothing written): counts per change kind and samples.
 */
export async function postSettingsPreview(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const tenantId = (request.params.tenantId ?? '').toLowerCase();
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

app.http('settings-preview', {
  methods: ['POST'],
  authLevel: 'function',
  route: 'connections/{tenantId}/settings/preview',
  handler: postSettingsPreview,
});
