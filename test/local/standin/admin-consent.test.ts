/** The stand-in's admin consent endpoint and its control knob (issue 11, point 1). */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type RunningStandin, startStandin } from '../../../local/standin/index.js';
import { graphToken } from './standin-test-clients.js';

let standin: RunningStandin;
const redirectUri = 'https://app.example.test/api/connect/callback';

beforeAll(async () => {
  standin = await startStandin({ users: 5, seed: 12 });
});
afterAll(async () => {
  await standin.stop();
});

async function consent(
  tenant: string,
  query: Record<string, string> = {},
): Promise<{ status: number; location: URL | undefined; text: string }> {
  const url = new URL(`${standin.authorityHost}/${tenant}/v2.0/adminconsent`);
  const params = {
    client_id: standin.clientId,
    scope: 'https://graph.microsoft.com/.default',
    redirect_uri: redirectUri,
    state: 'the-state',
    ...query,
  };
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  const response = await fetch(url, { redirect: 'manual' });
  const location = response.headers.get('location');
  return {
    status: response.status,
    location: location ? new URL(location) : undefined,
    text: await response.text(),
  };
}

const roles = async () => (decodeJwt(await graphToken(standin)) as { roles: string[] }).roles;

describe('GET /{tenant}/v2.0/adminconsent', () => {
  it('accepted: redirects back with admin_consent, the tenant, the granted scopes and the state', async () => {
    const { status, location } = await consent('organizations');
    expect(status).toBe(302);
    expect(`${location!.origin}${location!.pathname}`).toBe(redirectUri);
    expect(Object.fromEntries(location!.searchParams)).toEqual({
      admin_consent: 'True',
      tenant: standin.tenantId,
      scope:
        'https://graph.microsoft.com/User.Read.All https://graph.microsoft.com/GroupMember.Read.All https://graph.microsoft.com/Mail.Send',
      state: 'the-state',
    });
  });

  it('fewer permissions (the control knob): tokens issued afterwards carry exactly the granted roles', async () => {
    const set = await fetch(`${standin.controlUrl}/consent`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ answer: 'accept', grant: ['User.Read.All'] }),
    });
    expect(set.status).toBe(200);
    const { location } = await consent(standin.tenantId);
    expect(location!.searchParams.get('scope')).toBe('https://graph.microsoft.com/User.Read.All');
    expect(await roles()).toEqual(['User.Read.All']);
    standin.control.setConsentAnswer({ answer: 'accept' });
    await consent(standin.tenantId);
    expect((await roles()).sort()).toEqual(['GroupMember.Read.All', 'Mail.Send', 'User.Read.All']);
  });

  it('declined and consent required: redirects back with error and error_description, and grants nothing new', async () => {
    standin.control.setConsentAnswer({ answer: 'decline' });
    const declined = (await consent('organizations')).location!;
    expect(declined.searchParams.get('error')).toBe('access_denied');
    expect(declined.searchParams.get('error_description')).toMatch(/^AADSTS65004/);
    expect(declined.searchParams.get('state')).toBe('the-state');
    expect(declined.searchParams.has('tenant')).toBe(false);
    standin.control.setConsentAnswer({ answer: 'consent-required' });
    const required = (await consent('organizations')).location!;
    expect(required.searchParams.get('error')).toBe('consent_required');
    standin.control.setConsentAnswer({ answer: 'accept' });
  });

  it('shows an error page, with no redirect, for an unknown tenant or app and a bad redirect URI', async () => {
    const unknownTenant = await consent('00000000-0000-0000-0000-000000000001');
    expect(unknownTenant.status).toBe(400);
    expect(unknownTenant.text).toContain('AADSTS90002');
    const unknownApp = await consent('organizations', { client_id: '00000000-0000-0000-0000-000000000002' });
    expect(unknownApp.text).toContain('AADSTS700016');
    const badRedirect = await consent('organizations', { redirect_uri: 'javascript:alert(1)' });
    expect(badRedirect.status).toBe(400);
    expect(badRedirect.location).toBeUndefined();
  });
});
