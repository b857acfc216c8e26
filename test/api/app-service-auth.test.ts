/**
 * Issue 11, point 7, the app's side: with SYNC_HTTP_AUTH=app-service (as infra/ deploys it, behind App
 * Service authentication) the guarded routes need no function key but a principal with the route's app
 * role, passed on as Easy Auth does (`x-ms-client-principal`, which the platform sets and strips from
 * client requests; here the test plays the platform). Anonymous routes stay anonymous.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PipelineUnderTest } from '../pipeline/pipeline-harness.js';

function principal(roles: string[]): string {
  const claims = [{ typ: 'name', val: 'admin@contoso.com' }, ...roles.map((val) => ({ typ: 'roles', val }))];
  return Buffer.from(
    JSON.stringify({ auth_typ: 'aad', claims, name_typ: 'name', role_typ: 'roles' }),
  ).toString('base64');
}

describe('routes behind App Service authentication (SYNC_HTTP_AUTH=app-service)', () => {
  let pipeline: PipelineUnderTest;
  let base: string;
  const call = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
    fetch(`${base}/api/${path}`, { method, headers });

  beforeAll(async () => {
    pipeline = await PipelineUnderTest.start({
      standin: { users: 5, seed: 71 },
      settings: { SYNC_HTTP_AUTH: 'app-service' },
    });
    base = pipeline.env.host().httpBaseUrl;
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  it('answers an admin route to a Sync.Admin with no function key, 401 without a principal, 403 without the role', async () => {
    const runs = `connections/${pipeline.env.tenantId}/runs`;
    expect((await call(runs, { 'x-ms-client-principal': principal(['Sync.Admin']) })).status).toBe(200);
    expect((await call(runs)).status).toBe(401);
    expect((await call(runs, { 'x-functions-key': pipeline.env.functionKey })).status).toBe(401);
    expect((await call(runs, { 'x-ms-client-principal': principal(['Directory.Read']) })).status).toBe(403);
    expect((await call(runs, { 'x-ms-client-principal': principal([]) })).status).toBe(403);
  });

  it("answers the app's routes to Directory.Read (and Sync.Admin), never to no one", async () => {
    expect((await call('people', { 'x-ms-client-principal': principal(['Directory.Read']) })).status).toBe(
      200,
    );
    expect((await call('teams', { 'x-ms-client-principal': principal(['Sync.Admin']) })).status).toBe(200);
    expect((await call('people')).status).toBe(401);
  });

  it('keeps the webhook, the consent callback and health anonymous', async () => {
    expect((await call('health')).status).toBe(200);
    const handshake = await call('notifications?validationToken=hello', {}, 'POST');
    expect(handshake.status).toBe(200);
    expect(await handshake.text()).toBe('hello');
    // Reached (not 401): multi-tenant mode is off in this environment.
    expect((await call('connect/callback')).status).toBe(404);
  });
});
