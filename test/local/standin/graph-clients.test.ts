import { type PageCollection, PageIterator } from '@microsoft/microsoft-graph-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { type RunningStandin, startStandin } from '../../../local/standin/index.js';
import { certificateCredential, graphClient, secretCredential } from './standin-test-clients.js';

let standin: RunningStandin;

beforeAll(async () => {
  standin = await startStandin({ users: 450, seed: 11 });
});
afterAll(async () => {
  await standin.stop();
});
beforeEach(() => {
  standin.control.clearFaults();
  standin.control.resetCounters();
});

describe('the stand-in through the real Graph client and @azure/identity', () => {
  it('trusts the local CA through NODE_EXTRA_CA_CERTS in a forked worker', () => {
    expect(process.env.NODE_EXTRA_CA_CERTS).toBe(standin.caCertPath);
  });

  it('PageIterator visits every active user exactly once', async () => {
    const client = graphClient(standin);
    const first = (await client.api('/users').select('id,displayName').top(100).get()) as PageCollection;
    const seen: string[] = [];
    const iterator = new PageIterator(client, first, (user: { id: string }) => {
      seen.push(user.id);
      return true;
    });
    await iterator.iterate();
    const expected = standin.control
      .snapshot()
      .users.filter((u) => !u.softDeleted)
      .map((u) => u.id);
    expect(seen).toHaveLength(expected.length);
    expect(new Set(seen)).toEqual(new Set(expected));
    expect(standin.control.counters().requestsByRoute['GET /users']).toBe(Math.ceil(expected.length / 100));
  });

  it('ClientSecretCredential gets a Graph token and the call succeeds', async () => {
    const token = await secretCredential(standin).getToken('https://graph.microsoft.com/.default');
    expect(token!.token.split('.')).toHaveLength(3);
    const me = (await graphClient(standin)
      .api(`/users/${standin.control.snapshot().users[0]!.id}`)
      .get()) as { id: string };
    expect(me.id).toBe(standin.control.snapshot().users[0]!.id);
  });

  it('ClientCertificateCredential signs a client assertion the token endpoint accepts', async () => {
    const credential = certificateCredential(standin);
    const token = await credential.getToken('https://graph.microsoft.com/.default');
    expect(token!.token.length).toBeGreaterThan(20);
    const page = (await graphClient(standin, credential).api('/groups').top(5).get()) as { value: unknown[] };
    expect(page.value).toHaveLength(5);
  });

  it('a wrong client secret is refused with invalid_client', async () => {
    const { ClientSecretCredential } = await import('@azure/identity');
    const wrong = new ClientSecretCredential(standin.tenantId, standin.clientId, 'not-the-secret', {
      authorityHost: standin.authorityHost,
      disableInstanceDiscovery: true,
    });
    await expect(wrong.getToken('https://graph.microsoft.com/.default')).rejects.toThrow(/AADSTS7000215/);
  });

  it('the RetryHandler honours Retry-After on 429 and the call succeeds', async () => {
    standin.control.setFaults({
      rules: [{ route: 'GET /users', kind: 'throttle', everyNth: 1, maxHits: 2, retryAfterSeconds: 0.2 }],
    });
    const page = (await graphClient(standin).api('/users').top(3).get()) as { value: unknown[] };
    expect(page.value).toHaveLength(3);
    const counters = standin.control.counters();
    expect(counters.throttled).toBe(2);
    expect(counters.requestsByRoute['GET /users']).toBe(3);
  });

  it('a request without a token is 401 InvalidAuthenticationToken in Graph error shape', async () => {
    const response = await fetch(`${standin.graphBaseUrl}/users`);
    expect(response.status).toBe(401);
    const body = (await response.json()) as { error: { code: string; innerError: Record<string, string> } };
    expect(body.error.code).toBe('InvalidAuthenticationToken');
    expect(body.error.innerError['request-id']).toBe(response.headers.get('request-id'));
  });

  it('answers 403 Authorization_RequestDenied when the permission is not granted', async () => {
    standin.control.setGrantedPermissions(['User.Read.All']);
    try {
      const client = graphClient(standin);
      await expect(client.api('/groups').get()).rejects.toMatchObject({
        statusCode: 403,
        code: 'Authorization_RequestDenied',
        message: 'Insufficient privileges to complete the operation.',
      });
      await expect(client.api('/users').select('id,customSecurityAttributes').get()).rejects.toMatchObject({
        statusCode: 403,
      });
    } finally {
      standin.control.setGrantedPermissions(['User.Read.All', 'GroupMember.Read.All', 'Mail.Send']);
    }
  });

  it('customSecurityAttributes are returned when CustomSecAttributeAssignment.Read.All is granted', async () => {
    standin.control.setGrantedPermissions([
      'User.Read.All',
      'GroupMember.Read.All',
      'CustomSecAttributeAssignment.Read.All',
    ]);
    try {
      const page = (await graphClient(standin)
        .api('/users')
        .select('id,customSecurityAttributes')
        .top(999)
        .get()) as {
        value: Array<{ customSecurityAttributes: unknown }>;
      };
      expect(page.value.some((u) => u.customSecurityAttributes !== null)).toBe(true);
    } finally {
      standin.control.setGrantedPermissions(['User.Read.All', 'GroupMember.Read.All', 'Mail.Send']);
    }
  });

  it('serves the manager, 404 Request_ResourceNotFound without one, and photos with ImageNotFound', async () => {
    const client = graphClient(standin);
    const users = standin.control.snapshot().users;
    const report = users.find((u) => u.managerId !== null)!;
    const manager = (await client.api(`/users/${report.userPrincipalName}/manager`).get()) as { id: string };
    expect(manager.id).toBe(report.managerId);
    const ceo = users.find((u) => u.managerId === null && u.userType === 'Member')!;
    await expect(client.api(`/users/${ceo.id}/manager`).get()).rejects.toMatchObject({
      statusCode: 404,
      code: 'Request_ResourceNotFound',
    });
    const withPhoto = users.find((u) => u.photoEtag !== null)!;
    const bytes = (await client
      .api(`/users/${withPhoto.id}/photo/$value`)
      .responseType('arraybuffer' as never)
      .get()) as ArrayBuffer;
    expect(Buffer.from(bytes).subarray(0, 2).toString('hex')).toBe('ffd8');
    const withoutPhoto = users.find((u) => u.photoEtag === null)!;
    await expect(client.api(`/users/${withoutPhoto.id}/photo/$value`).get()).rejects.toMatchObject({
      statusCode: 404,
      code: 'ImageNotFound',
    });
  });
});
