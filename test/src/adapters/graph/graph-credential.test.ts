/**
 * Which identity a connection's Graph credential signs in as, for each credential kind, proved by the
 * token requests the identity providers receive: the platform's managed-identity endpoint (a local server
 * speaking the App Service protocol @azure/identity uses on Flex Consumption: IDENTITY_ENDPOINT +
 * IDENTITY_HEADER) and the Graph stand-in's Entra token endpoint and Key Vault.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type RunningStandin, startStandin } from '../../../../local/standin/index.js';
import {
  APP_IDENTITY_CLIENT_ID_SETTING,
  createGraphCredential,
} from '../../../../src/adapters/graph/graph-credential.js';
import type { KeyVaultSecretStore } from '../../../../src/adapters/keyvault/key-vault-secret-store.js';
import {
  type ConnectionSettings,
  type ConnectionSettingsInput,
  connectionSettingsSchema,
} from '../../../../src/domain/connection-settings.js';
import { standinSecretStore } from '../../../local/standin/standin-test-clients.js';

const APP_IDENTITY = '0b1e2c3d-4e5f-4061-8273-94a5b6c7d8e9';
const OTHER_IDENTITY = '7f6e5d4c-3b2a-4190-8f7e-6d5c4b3a2910';
const IDENTITY_HEADER = 'platform-secret-header';

interface IdentityRequest {
  readonly clientId: string | null;
  readonly resource: string | null;
  readonly header: string | undefined;
}

/** The App Service managed-identity endpoint: answers every token request and records who asked. */
let identityEndpoint: Server;
const identityRequests: IdentityRequest[] = [];
let standin: RunningStandin;
let secrets: KeyVaultSecretStore;

beforeAll(async () => {
  identityEndpoint = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const resource = url.searchParams.get('resource');
    identityRequests.push({
      clientId: url.searchParams.get('client_id'),
      resource,
      header: request.headers['x-identity-header'] as string | undefined,
    });
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify({
        access_token: `token-for-${url.searchParams.get('client_id') ?? 'system-assigned'}`,
        expires_on: String(Math.floor(Date.now() / 1000) + 3600),
        resource,
        token_type: 'Bearer',
      }),
    );
  });
  await new Promise<void>((resolve) => identityEndpoint.listen(0, '127.0.0.1', resolve));
  const { port } = identityEndpoint.address() as AddressInfo;
  process.env.IDENTITY_ENDPOINT = `http://127.0.0.1:${port}/msi/token`;
  process.env.IDENTITY_HEADER = IDENTITY_HEADER;

  standin = await startStandin({ users: 3, seed: 12 });
  secrets = standinSecretStore(standin);
});

afterAll(async () => {
  delete process.env.IDENTITY_ENDPOINT;
  delete process.env.IDENTITY_HEADER;
  await new Promise((resolve) => identityEndpoint?.close(resolve));
  await standin?.stop();
});

function connection(credential: ConnectionSettingsInput['credential']): ConnectionSettings {
  return connectionSettingsSchema.parse({
    tenantId: standin.tenantId,
    displayName: 'Contoso',
    cloud: { authorityHost: standin.authorityHost, graphEndpoint: standin.graphEndpoint },
    credential,
  });
}

const graphScope = (): string => `${standin.graphEndpoint}/.default`;
/** A resource no earlier test asked for, so a token the identity library cached cannot answer instead. */
let resources = 0;
const freshScope = (): string => `${standin.graphEndpoint}/fresh-${(resources += 1)}/.default`;

/** The claims of a JWT access token (the stand-in's tokens are JWTs, as Entra's are). */
function claims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

async function lastIdentityRequestFor(clientId: string | undefined): Promise<IdentityRequest> {
  const credential = await createGraphCredential(connection({ kind: 'managed-identity' }), {
    appIdentityClientId: clientId,
    secrets,
  });
  const scope = freshScope();
  const token = await credential.getToken(scope);
  expect(token?.token).toBe(`token-for-${clientId ?? 'system-assigned'}`);
  expect(identityRequests.at(-1)?.resource).toBe(scope.replace(/\/\.default$/, ''));
  return identityRequests.at(-1)!;
}

describe('the Graph credential of a connection', () => {
  it('exports the app setting that names the app identity as AZURE_CLIENT_ID (what the Bicep sets)', () => {
    expect(APP_IDENTITY_CLIENT_ID_SETTING).toBe('AZURE_CLIENT_ID');
  });

  it("managed-identity without a clientId signs in as the app's user-assigned identity (AZURE_CLIENT_ID)", async () => {
    const request = await lastIdentityRequestFor(APP_IDENTITY);
    expect(request).toMatchObject({ clientId: APP_IDENTITY, header: IDENTITY_HEADER });
  });

  it("managed-identity with a clientId signs in as that identity, not the app's", async () => {
    const credential = await createGraphCredential(
      connection({ kind: 'managed-identity', clientId: OTHER_IDENTITY }),
      { appIdentityClientId: APP_IDENTITY, secrets },
    );
    const token = await credential.getToken(freshScope());
    expect(token?.token).toBe(`token-for-${OTHER_IDENTITY}`);
    expect(identityRequests.at(-1)?.clientId).toBe(OTHER_IDENTITY);
  });

  it('managed-identity with no client id anywhere asks for the system-assigned identity', async () => {
    const request = await lastIdentityRequestFor(undefined);
    expect(request.clientId).toBeNull();
  });

  it("client-secret reads the secret from Key Vault and signs in as the connection's app in its tenant", async () => {
    const credential = await createGraphCredential(
      connection({ kind: 'client-secret', clientId: standin.clientId, secretName: standin.clientSecretName }),
      { appIdentityClientId: APP_IDENTITY, secrets },
    );
    const token = await credential.getToken(graphScope());
    expect(claims(token!.token)).toMatchObject({ appid: standin.clientId, tid: standin.tenantId });
  });

  it('client-certificate signs its client assertion with a PEM certificate read from Key Vault', async () => {
    // What `az keyvault certificate create` stores with a PEM policy: key and certificate, PEM content type.
    standin.secrets.set('graph-app-pem', standin.clientCertificatePem, {
      contentType: 'application/x-pem-file',
    });
    const credential = await createGraphCredential(
      connection({
        kind: 'client-certificate',
        clientId: standin.clientId,
        certificateSecretName: 'graph-app-pem',
      }),
      { appIdentityClientId: APP_IDENTITY, secrets },
    );
    const token = await credential.getToken(graphScope());
    expect(claims(token!.token)).toMatchObject({ appid: standin.clientId, tid: standin.tenantId });
  });

  it('client-secret and client-certificate without a Key Vault fail as permission-denied, naming KEY_VAULT_URI', async () => {
    for (const credential of [
      { kind: 'client-secret' as const, clientId: standin.clientId, secretName: 'a-secret' },
      { kind: 'client-certificate' as const, clientId: standin.clientId, certificateSecretName: 'a-cert' },
    ]) {
      const error = await createGraphCredential(connection(credential), {
        appIdentityClientId: APP_IDENTITY,
        secrets: undefined,
      }).catch((e: unknown) => e);
      expect(error).toMatchObject({ category: 'permission-denied', transient: false });
      expect((error as Error).message).toMatch(/KEY_VAULT_URI/);
    }
  });
});
