/**
 * Azure Key Vault secrets data plane (the subset `@azure/keyvault-secrets` `SecretClient` uses), served at the
 * root of the stand-in's host: `/secrets`, `/secrets/{name}`, `/secrets/{name}/{version}`, `/deletedsecrets/{name}`.
 * Routes are registered with `auth: 'keyvault'`: the core checks the bearer token (audience
 * `https://vault.azure.net`) and, when it is missing or invalid, answers 401 with the header from
 * `keyVaultChallenge()`.
 */
import type { RouteTable } from '../http/route-table.js';
import { registerSecretRoutes } from './secret.routes.js';
import { createSecretStore, type SecretStore } from './secret-store.js';

export { KEY_VAULT_RESOURCE, keyVaultChallenge, keyVaultUnauthorizedBody } from './challenge.js';
export type { SecretStore, StoredSecret } from './secret-store.js';

export interface KeyVaultDeps {
  /** Secrets present at start (name → value), e.g. the app's client secret and the clientState secret. */
  readonly seedSecrets?: Readonly<Record<string, string>>;
  /** Clock in ms since the epoch (defaults to Date.now). */
  readonly now?: () => number;
  /** Page size of `GET /secrets` when the caller gives no `maxresults` (default 25, as Key Vault). */
  readonly pageSize?: number;
}

/** Registers the secrets routes and returns the in-memory store (for seeding and inspection by the core). */
export function registerKeyVaultRoutes(routes: RouteTable, deps: KeyVaultDeps = {}): SecretStore {
  const store = createSecretStore(deps.now ?? Date.now);
  for (const [name, value] of Object.entries(deps.seedSecrets ?? {})) store.set(name, value);
  registerSecretRoutes(routes, store, { pageSize: deps.pageSize ?? 25 });
  return store;
}
