import { Client } from '@microsoft/microsoft-graph-client';
import { decodeJwt } from 'jose';
import { z } from 'zod';

import type { CloudSetting } from '../../domain/cloud.js';
import { resolveCloud } from '../../domain/cloud.js';
import { connectionSettingsSchema } from '../../domain/connection-settings.js';
import type { TenantProbe, TenantProof } from '../../ports/consent.js';
import { PermanentError } from '../../shared/errors.js';
import { createGraphCredential, type CredentialSecrets } from './graph-credential.js';

const tokenClaimsSchema = z.object({ tid: z.string(), roles: z.array(z.string()).default([]) }).loose();
const usersPageSchema = z.object({ value: z.array(z.object({ id: z.string() }).loose()) }).loose();

/** Permissions that let `GET /users` answer (the proof's Graph call). */
const USER_READERS = ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'];

export interface ConsentProbeOptions {
  /** The multi-tenant app registration and its certificate's Key Vault name. */
  readonly clientId: string;
  readonly certificateSecretName: string;
  readonly cloud: CloudSetting;
  readonly secrets: CredentialSecrets | undefined;
}

/**
 * Proves a tenant the consent callback names: signs in to `/{tenant}` with the app registration's
 * certificate (client credentials, a fresh credential each time so no cached token hides a changed
 * grant), reads the token's `tid` and `roles` (jose's decodeJwt: the token came straight from the
 * authority over TLS), and calls Graph with it (`GET /users?$top=1`, when a role allows it).
 */
export class GraphConsentTenantProbe implements TenantProbe {
  constructor(private readonly options: ConsentProbeOptions) {}

  async prove(tenantId: string): Promise<TenantProof> {
    const connection = connectionSettingsSchema.parse({
      tenantId,
      displayName: 'consent probe',
      cloud: this.options.cloud,
      credential: {
        kind: 'client-certificate',
        clientId: this.options.clientId,
        certificateSecretName: this.options.certificateSecretName,
      },
    });
    const cloud = resolveCloud(connection.cloud);
    const credential = await createGraphCredential(connection, {
      appIdentityClientId: undefined,
      secrets: this.options.secrets,
    });
    let token: string;
    try {
      const issued = await credential.getToken(`${cloud.graphEndpoint}/.default`);
      if (!issued) throw new Error('no token');
      token = issued.token;
    } catch (error) {
      throw new PermanentError(
        `Entra issued no token for tenant ${tenantId}: ${firstLine(error)}`,
        'permission-denied',
      );
    }
    const claims = tokenClaimsSchema.safeParse(decodeJwt(token));
    if (!claims.success) throw new PermanentError('the token carries no tenant', 'invalid-data');
    const roles = claims.data.roles;
    let graphAnswered = false;
    if (roles.some((role) => USER_READERS.includes(role))) {
      const client = Client.initWithMiddleware({
        authProvider: { getAccessToken: () => Promise.resolve(token) },
        baseUrl: `${cloud.graphEndpoint}/`,
        customHosts: new Set([new URL(cloud.graphEndpoint).hostname]),
      });
      try {
        usersPageSchema.parse(await client.api('/users').version('v1.0').top(1).select('id').get());
      } catch (error) {
        throw new PermanentError(
          `Graph refused the token of tenant ${tenantId}: ${firstLine(error)}`,
          'permission-denied',
        );
      }
      graphAnswered = true;
    }
    return {
      tokenTenantId: claims.data.tid.toLowerCase(),
      roles,
      graphAnswered,
    };
  }
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.slice(0, 300);
}
