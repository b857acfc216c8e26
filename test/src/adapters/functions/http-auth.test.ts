import { describe, expect, it } from 'vitest';

import { accessOf, guardedAuthLevel, refusalOf } from '../../../../src/adapters/functions/http-auth.js';

function principal(roles: string[]): string {
  const claims = roles.map((val) => ({ typ: 'roles', val }));
  return Buffer.from(JSON.stringify({ auth_typ: 'aad', claims, role_typ: 'roles' })).toString('base64');
}
const request = (header?: string) => ({
  headers: new Headers(header ? { 'x-ms-client-principal': header } : {}),
});

describe('who may call a route behind App Service authentication', () => {
  it('classes the webhook, the consent callback and health as public, the app routes apart from the admin ones', () => {
    expect(accessOf('notifications')).toBe('public');
    expect(accessOf('notifications/lifecycle')).toBe('public');
    expect(accessOf('connect/callback')).toBe('public');
    expect(accessOf('health')).toBe('public');
    expect(accessOf('people/{personId}')).toBe('app');
    expect(accessOf('events')).toBe('app');
    expect(accessOf('connect')).toBe('admin');
    expect(accessOf('connections/{tenantId}/sync')).toBe('admin');
  });

  it('answers 401 without a principal and 403 without the route role; Sync.Admin may call the app routes', () => {
    const mode = 'app-service';
    expect(refusalOf(request(), 'connect', mode)?.status).toBe(401);
    expect(refusalOf(request(principal(['Directory.Read'])), 'connect', mode)?.status).toBe(403);
    expect(refusalOf(request(principal(['Sync.Admin'])), 'connect', mode)).toBeUndefined();
    expect(refusalOf(request(principal(['Directory.Read'])), 'people', mode)).toBeUndefined();
    expect(refusalOf(request(principal(['Sync.Admin'])), 'people', mode)).toBeUndefined();
    expect(refusalOf(request(principal([])), 'people', mode)?.status).toBe(403);
    expect(refusalOf(request(), 'notifications', mode)).toBeUndefined();
    expect(refusalOf(request('not base64 json'), 'connect', mode)?.status).toBe(401);
  });

  it('checks nothing with function keys (the host checked the key), and keeps keys on guarded routes', () => {
    expect(refusalOf(request(), 'connect', 'function-keys')).toBeUndefined();
    expect(guardedAuthLevel({})).toBe('function');
    expect(guardedAuthLevel({ SYNC_HTTP_AUTH: 'app-service' })).toBe('anonymous');
  });
});
