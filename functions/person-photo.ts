import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { z } from 'zod';

import { refusalResponse } from '../src/adapters/functions/http-api.js';
import { guardedAuthLevel } from '../src/adapters/functions/http-auth.js';
import { documentRoute } from '../src/adapters/functions/openapi-registry.js';
import { appServices } from '../src/app-services.js';
import { issuesOf } from '../src/usecases/api-result.js';
import { personPhoto } from '../src/usecases/person-photo.js';

const paramsSchema = z.object({
  personId: z.uuid(),
  tenantId: z.uuid().optional(),
});

/**
 * GET /api/people/{personId}/photo[?tenantId=…]: the person's photo bytes with their content type and
 * ETag (Graph's media ETag); 304 for a matching If-None-Match; 404 when the person has none; 400 when
 * `tenantId` is left out while several connections exist.
 */
export async function personPhotoHttp(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const params = paramsSchema.safeParse({
    personId: request.params.personId,
    tenantId: request.query.get('tenantId') ?? undefined,
  });
  if (!params.success) {
    return refusalResponse({
      ok: false,
      status: 400,
      error: 'invalid request',
      issues: issuesOf(params.error),
    });
  }
  const answer = await personPhoto(appServices().deps(), params.data.personId, params.data.tenantId);
  switch (answer.kind) {
    case 'refused':
      return refusalResponse(answer.refusal);
    case 'not-found':
      return { status: 404, jsonBody: { error: answer.reason } };
    case 'photo':
      if (request.headers.get('if-none-match') === answer.etag) {
        return { status: 304, headers: { ETag: answer.etag } };
      }
      return {
        status: 200,
        headers: {
          'Content-Type': answer.contentType,
          ETag: answer.etag,
          'Cache-Control': 'private, max-age=300',
        },
        body: answer.content,
      };
  }
}

documentRoute({
  method: 'GET',
  route: 'people/{personId}/photo',
  summary: "The person's photo bytes (304 for a matching If-None-Match)",
  tags: ['app'],
  auth: 'function',
  params: paramsSchema.pick({ personId: true }),
  query: paramsSchema.pick({ tenantId: true }),
  responses: {
    200: {
      description: 'the photo',
      contentType: 'image/*',
      schema: z.string(),
      headers: { ETag: "Graph's media ETag" },
    },
    304: { description: 'not modified' },
    404: { description: 'no such person, or no photo' },
  },
});
app.http('person-photo', {
  methods: ['GET'],
  authLevel: guardedAuthLevel(),
  route: 'people/{personId}/photo',
  handler: personPhotoHttp,
});
