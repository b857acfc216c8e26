/**
 * Entra's app-only token endpoint and the discovery documents MSAL reads when `authorityHost` points at the
 * stand-in (with `disableInstanceDiscovery: true`): `/{tenant}/v2.0/.well-known/openid-configuration`,
 * `/common/discovery/instance`, and `/{tenant}/oauth2/v2.0/token` (client secret or client assertion).
 */
import { z } from 'zod';

import type { RouteTable, StandinRequest, StandinResponse } from '../http/route-table.js';
import type { AccessTokenIssuer } from './access-tokens.js';
import { GRAPH_AUDIENCE, KEYVAULT_AUDIENCE } from './access-tokens.js';
import { registerAdminConsentRoute } from './admin-consent.js';
import type { AppRegistration } from './app-registration.js';
import { verifyClientAssertion } from './client-assertion.js';

export interface TokenRouteDeps {
  readonly tenantId: string;
  readonly app: AppRegistration;
  readonly tokens: AccessTokenIssuer;
  readonly origin: () => string;
  readonly now: () => Date;
}

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const SCOPES: Readonly<Record<string, string>> = {
  [`${GRAPH_AUDIENCE}/.default`]: GRAPH_AUDIENCE,
  [`${KEYVAULT_AUDIENCE}/.default`]: KEYVAULT_AUDIENCE,
};

const tokenFormSchema = z.object({
  grant_type: z.string(),
  client_id: z.string(),
  scope: z.string(),
  client_secret: z.string().optional(),
  client_assertion_type: z.string().optional(),
  client_assertion: z.string().optional(),
});

export function registerTokenRoutes(routes: RouteTable, deps: TokenRouteDeps): void {
  const none = { auth: 'none' } as const;
  const openIdConfiguration = (
    req: StandinRequest,
    params: Readonly<Record<string, string>>,
  ): StandinResponse => {
    const tenant = params.tenant!;
    if (!knownTenant(tenant, deps.tenantId))
      return aadError(400, 'invalid_tenant', 'AADSTS90002', `Tenant '${tenant}' not found.`, deps);
    const base = `${deps.origin()}/${tenant}`;
    return {
      status: 200,
      body: {
        token_endpoint: `${base}/oauth2/v2.0/token`,
        token_endpoint_auth_methods_supported: [
          'client_secret_post',
          'private_key_jwt',
          'client_secret_basic',
        ],
        jwks_uri: `${base}/discovery/v2.0/keys`,
        response_modes_supported: ['query', 'fragment', 'form_post'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        issuer: `${deps.origin()}/${deps.tenantId}/v2.0`,
        request_uri_parameter_supported: false,
        userinfo_endpoint: `${deps.origin()}/oidc/userinfo`,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
        http_logout_supported: true,
        frontchannel_logout_supported: true,
        end_session_endpoint: `${base}/oauth2/v2.0/logout`,
        claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'tid', 'oid'],
        kerberos_endpoint: `${base}/kerberos`,
        tenant_region_scope: 'EU',
        cloud_instance_name: new URL(deps.origin()).host,
        cloud_graph_host_name: new URL(deps.origin()).host,
        msgraph_host: new URL(deps.origin()).host,
        rbac_url: deps.origin(),
      },
    };
  };
  routes.add('GET', '/{tenant}/v2.0/.well-known/openid-configuration', openIdConfiguration, none);
  routes.add('GET', '/{tenant}/.well-known/openid-configuration', openIdConfiguration, none);
  routes.add('GET', '/{tenant}/discovery/v2.0/keys', () => ({ status: 200, body: { keys: [] } }), none);
  routes.add(
    'GET',
    '/common/discovery/instance',
    () => {
      const host = new URL(deps.origin()).host;
      return {
        status: 200,
        body: {
          tenant_discovery_endpoint: `${deps.origin()}/${deps.tenantId}/v2.0/.well-known/openid-configuration`,
          'api-version': '1.1',
          metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
        },
      };
    },
    none,
  );
  registerAdminConsentRoute(routes, deps);
  routes.add(
    'POST',
    '/{tenant}/oauth2/v2.0/token',
    (req, params) => issueToken(req, params.tenant!, deps),
    none,
  );
}

function issueToken(req: StandinRequest, tenant: string, deps: TokenRouteDeps): StandinResponse {
  if (!knownTenant(tenant, deps.tenantId)) {
    return aadError(400, 'invalid_request', 'AADSTS90002', `Tenant '${tenant}' not found.`, deps);
  }
  const form = tokenFormSchema.safeParse(
    Object.fromEntries(new URLSearchParams(req.rawBody.toString('utf8'))),
  );
  if (!form.success) {
    return aadError(
      400,
      'invalid_request',
      'AADSTS900144',
      'The request body must contain the parameters grant_type, client_id and scope.',
      deps,
    );
  }
  const f = form.data;
  if (f.grant_type !== 'client_credentials') {
    return aadError(
      400,
      'unsupported_grant_type',
      'AADSTS70003',
      `The app requested an unsupported grant type '${f.grant_type}'.`,
      deps,
    );
  }
  if (f.client_id !== deps.app.clientId) {
    return aadError(
      400,
      'unauthorized_client',
      'AADSTS700016',
      `Application with identifier '${f.client_id}' was not found in the directory '${deps.tenantId}'.`,
      deps,
    );
  }
  // Like a national cloud, the stand-in's own Graph endpoint is also Graph's resource identifier.
  const scope = f.scope.trim();
  const audience = SCOPES[scope] ?? (scope === `${deps.origin()}/.default` ? GRAPH_AUDIENCE : undefined);
  if (!audience) {
    return aadError(
      400,
      'invalid_scope',
      'AADSTS1002012',
      `The provided value for scope ${f.scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      deps,
    );
  }
  if (f.client_assertion !== undefined) {
    if (f.client_assertion_type !== ASSERTION_TYPE) {
      return aadError(400, 'invalid_request', 'AADSTS50027', 'Invalid client_assertion_type.', deps);
    }
    const endpoint = `${deps.origin()}/${tenant}/oauth2/v2.0/token`;
    const audiences = [
      endpoint,
      `${deps.origin()}/${deps.tenantId}/oauth2/v2.0/token`,
      `${deps.origin()}/${deps.tenantId}/v2.0`,
    ];
    const check = verifyClientAssertion(f.client_assertion, deps.app, audiences, deps.now().getTime());
    if (!check.ok) return aadError(401, 'invalid_client', check.code, check.description, deps);
  } else if (f.client_secret === undefined || f.client_secret !== deps.app.clientSecret) {
    return aadError(
      401,
      'invalid_client',
      'AADSTS7000215',
      "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '" +
        deps.app.clientId +
        "'.",
      deps,
    );
  }
  const roles = audience === GRAPH_AUDIENCE ? [...deps.app.grantedPermissions] : [];
  const { token, expiresIn } = deps.tokens.issue({
    aud: audience,
    appid: deps.app.clientId,
    tid: deps.tenantId,
    oid: deps.app.servicePrincipalId,
    roles,
  });
  return {
    status: 200,
    headers: { 'Cache-Control': 'no-store, no-cache', Pragma: 'no-cache' },
    body: { token_type: 'Bearer', expires_in: expiresIn, ext_expires_in: expiresIn, access_token: token },
  };
}

function knownTenant(tenant: string, tenantId: string): boolean {
  return tenant.toLowerCase() === tenantId.toLowerCase() || tenant === 'organizations' || tenant === 'common';
}

function aadError(
  status: number,
  error: string,
  code: string,
  description: string,
  deps: TokenRouteDeps,
): StandinResponse {
  const traceId = crypto.randomUUID();
  const timestamp = deps
    .now()
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
  return {
    status,
    body: {
      error,
      error_description: `${code}: ${description} Trace ID: ${traceId} Correlation ID: ${crypto.randomUUID()} Timestamp: ${timestamp}`,
      error_codes: [Number(code.replace('AADSTS', ''))],
      timestamp,
      trace_id: traceId,
      correlation_id: crypto.randomUUID(),
      error_uri: `${deps.origin()}/error?code=${code.replace('AADSTS', '')}`,
    },
  };
}
