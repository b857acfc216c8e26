/** Real SDK clients pointed at a running stand-in, as the product builds them. */
import { ClientCertificateCredential, ClientSecretCredential, type TokenCredential } from '@azure/identity';
import { Client } from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js';

import type { RunningStandin } from '../../../local/standin/index.js';
import {
  createAppIdentityCredential,
  KeyVaultSecretStore,
} from '../../../src/adapters/keyvault/key-vault-secret-store.js';

export function secretCredential(standin: RunningStandin): TokenCredential {
  return new ClientSecretCredential(standin.tenantId, standin.clientId, standin.clientSecret, {
    authorityHost: standin.authorityHost,
    disableInstanceDiscovery: true,
  });
}

export function certificateCredential(standin: RunningStandin): TokenCredential {
  return new ClientCertificateCredential(
    standin.tenantId,
    standin.clientId,
    { certificate: standin.clientCertificatePem },
    { authorityHost: standin.authorityHost, disableInstanceDiscovery: true },
  );
}

export function graphClient(
  standin: RunningStandin,
  credential: TokenCredential = secretCredential(standin),
): Client {
  const authProvider = new TokenCredentialAuthenticationProvider(credential, {
    scopes: [`https://graph.microsoft.com/.default`],
  });
  // The Graph client only attaches the bearer token for graph.microsoft.com & co, or for `customHosts`
  // (host names without port): a national-cloud or stand-in endpoint must be listed there.
  return Client.initWithMiddleware({
    authProvider,
    baseUrl: standin.graphEndpoint,
    defaultVersion: 'v1.0',
    customHosts: new Set([new URL(standin.graphEndpoint).hostname]),
  });
}

/** A bearer token for raw `fetch` calls (shape tests). */
export async function graphToken(standin: RunningStandin): Promise<string> {
  const token = await secretCredential(standin).getToken('https://graph.microsoft.com/.default');
  if (!token) throw new Error('No token from the stand-in.');
  return token.token;
}

/** GET/POST through fetch with a token, returning status, headers and parsed JSON body. */
export async function rawCall(
  standin: RunningStandin,
  token: string,
  method: string,
  pathAndQuery: string,
  options: { headers?: Record<string, string>; body?: unknown } = {},
): Promise<{ status: number; headers: Headers; body: unknown }> {
  const url = pathAndQuery.startsWith('https://') ? pathAndQuery : `${standin.graphBaseUrl}${pathAndQuery}`;
  const response = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text.length > 0 ? (JSON.parse(text) as unknown) : null;
  } catch {
    // keep text
  }
  return { status: response.status, headers: response.headers, body };
}

/** The product's Key Vault store on the stand-in's vault, signed in as the app's own identity. */
export function standinSecretStore(standin: RunningStandin): KeyVaultSecretStore {
  return new KeyVaultSecretStore(
    standin.keyVaultUrl,
    createAppIdentityCredential({
      AZURE_TENANT_ID: standin.tenantId,
      AZURE_CLIENT_ID: standin.clientId,
      AZURE_CLIENT_SECRET: standin.clientSecret,
      AZURE_AUTHORITY_HOST: standin.authorityHost,
    }),
  );
}
