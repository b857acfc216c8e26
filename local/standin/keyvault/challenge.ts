/**
 * Key Vault's bearer challenge. `@azure/keyvault-secrets` first sends each request without a token (and
 * without a body), reads `authorization` (authority + tenant) and `resource` from the 401's
 * `WWW-Authenticate`, asks its credential for `<resource>/.default`, and resends.
 *
 * The SDK also checks that the vault's host name ends with `.<resource host>` (`*.vault.azure.net`). A
 * vault served from `127.0.0.1` can never pass that check, so the product must create its SecretClient
 * with `disableChallengeResourceVerification: true` when (and only when) the vault URL is not under
 * `vault.azure.net` or a sovereign-cloud vault domain.
 */

export const KEY_VAULT_RESOURCE = 'https://vault.azure.net';

/** The `WWW-Authenticate` header value a 401 from the vault carries. */
export function keyVaultChallenge(authorityHost: string, tenantId: string): string {
  const authority = `${authorityHost.replace(/\/+$/, '')}/${tenantId}`;
  return `Bearer authorization="${authority}", resource="${KEY_VAULT_RESOURCE}"`;
}

/** The body of Key Vault's 401 (`AKV10000`). */
export function keyVaultUnauthorizedBody(tokenPresent: boolean): {
  error: { code: string; message: string };
} {
  return {
    error: {
      code: 'Unauthorized',
      message: tokenPresent
        ? 'AKV10032: Invalid issuer or audience in the access token.'
        : 'AKV10000: Request is missing a Bearer or PoP token.',
    },
  };
}
