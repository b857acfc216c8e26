/** Key Vault secrets routes (API version 7.x / 2025-07-01 wire format). */
import { z } from 'zod';

import type { RouteOptions, RouteTable, StandinRequest, StandinResponse } from '../http/route-table.js';
import { deletedSecretBundle, secretBundle, secretItem } from './secret-bundle.js';
import { SecretDeletedError, type SecretStore } from './secret-store.js';

const SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;
/** Key Vault's largest page for `GET /secrets`. */
const MAX_PAGE_SIZE = 25;

const setSecretBody = z.object({
  value: z.string(),
  contentType: z.string().optional(),
  tags: z.record(z.string(), z.string()).optional(),
  attributes: z
    .object({ enabled: z.boolean().optional(), nbf: z.number().optional(), exp: z.number().optional() })
    .passthrough()
    .optional(),
});

export function vaultError(status: number, code: string, message: string): StandinResponse {
  return { status, body: { error: { code, message } } };
}

type Handler = (req: StandinRequest, name: string, version: string) => StandinResponse;

export function registerSecretRoutes(
  routes: RouteTable,
  store: SecretStore,
  settings: { pageSize: number },
): void {
  const options: RouteOptions = { auth: 'keyvault' };
  const add = (method: string, pattern: string, handler: Handler): void => {
    routes.add(method, pattern, (req, params) => checked(req, params, handler), options);
  };
  routes.add(
    'GET',
    '/secrets',
    (req) => apiVersionProblem(req) ?? listSecrets(req, store, settings.pageSize),
    options,
  );
  add('PUT', '/secrets/{name}', (req, name) => setSecret(req, store, name));
  add('GET', '/secrets/{name}', (req, name) => getSecret(req, store, name, ''));
  add('GET', '/secrets/{name}/{version}', (req, name, version) => getSecret(req, store, name, version));
  add('DELETE', '/secrets/{name}', (req, name) => deleteSecret(req, store, name));
  add('GET', '/deletedsecrets/{name}', (req, name) => getDeletedSecret(req, store, name));
  add('DELETE', '/deletedsecrets/{name}', (_req, name) => purgeSecret(store, name));
  add('POST', '/deletedsecrets/{name}/recover', (req, name) => recoverSecret(req, store, name));
}

function checked(
  req: StandinRequest,
  params: Readonly<Record<string, string>>,
  handler: Handler,
): StandinResponse {
  const problem = apiVersionProblem(req);
  if (problem) return problem;
  const name = params.name ?? '';
  if (!SECRET_NAME.test(name)) {
    return vaultError(
      400,
      'BadParameter',
      `The secret name '${name}' is invalid: use 1-127 letters, digits and dashes.`,
    );
  }
  return handler(req, name, params.version ?? '');
}

function apiVersionProblem(req: StandinRequest): StandinResponse | undefined {
  if (req.query.get('api-version')) return undefined;
  return vaultError(
    400,
    'BadParameter',
    'The api-version query parameter (?api-version=) is required for all requests.',
  );
}

/** The vault's origin, as used in secret identifiers (`https://host/secrets/name/version`). */
function vaultOf(req: StandinRequest): string {
  return new URL(req.baseUrl).origin;
}

function notFound(name: string): StandinResponse {
  return vaultError(
    404,
    'SecretNotFound',
    `A secret with (name/id) ${name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
  );
}

function setSecret(req: StandinRequest, store: SecretStore, name: string): StandinResponse {
  const parsed = setSecretBody.safeParse(req.body);
  if (!parsed.success)
    return vaultError(400, 'BadParameter', 'The request body must carry the secret value as a string.');
  const { value, contentType, tags, attributes } = parsed.data;
  try {
    const version = store.set(name, value, {
      contentType,
      tags,
      enabled: attributes?.enabled,
      notBefore: attributes?.nbf === undefined ? undefined : attributes.nbf * 1000,
      expires: attributes?.exp === undefined ? undefined : attributes.exp * 1000,
    });
    return { status: 200, body: secretBundle(vaultOf(req), name, version) };
  } catch (error) {
    if (error instanceof SecretDeletedError) return vaultError(409, 'Conflict', error.message);
    throw error;
  }
}

function getSecret(
  req: StandinRequest,
  store: SecretStore,
  name: string,
  versionId: string,
): StandinResponse {
  const secret = store.get(name);
  const version =
    versionId === '' ? secret?.versions.at(-1) : secret?.versions.find((v) => v.version === versionId);
  if (!secret || !version) return notFound(versionId === '' ? name : `${name}/${versionId}`);
  if (!version.enabled)
    return vaultError(403, 'Forbidden', `Operation get is not allowed on a disabled secret.`);
  return { status: 200, body: secretBundle(vaultOf(req), secret.name, version) };
}

function listSecrets(req: StandinRequest, store: SecretStore, defaultPageSize: number): StandinResponse {
  const requested = Number(req.query.get('maxresults') ?? defaultPageSize);
  if (!Number.isInteger(requested) || requested < 1 || requested > MAX_PAGE_SIZE) {
    return vaultError(400, 'BadParameter', `maxresults must be an integer between 1 and ${MAX_PAGE_SIZE}.`);
  }
  const offset = Number(Buffer.from(req.query.get('$skiptoken') ?? '', 'base64url').toString() || '0');
  const all = store.list();
  const page = all.slice(offset, offset + requested);
  const next = offset + requested;
  const vault = vaultOf(req);
  let nextLink: string | null = null;
  if (next < all.length) {
    const link = new URL(`${vault}/secrets`);
    link.searchParams.set('api-version', req.query.get('api-version') ?? '');
    link.searchParams.set('$skiptoken', Buffer.from(String(next)).toString('base64url'));
    link.searchParams.set('maxresults', String(requested));
    nextLink = link.toString();
  }
  return { status: 200, body: { value: page.map((secret) => secretItem(vault, secret)), nextLink } };
}

function deleteSecret(req: StandinRequest, store: SecretStore, name: string): StandinResponse {
  const deleted = store.softDelete(name);
  if (!deleted) return notFound(name);
  return { status: 200, body: deletedSecretBundle(vaultOf(req), deleted) };
}

function getDeletedSecret(req: StandinRequest, store: SecretStore, name: string): StandinResponse {
  const deleted = store.getDeleted(name);
  if (!deleted) return vaultError(404, 'SecretNotFound', `Deleted Secret not found: ${name}`);
  return { status: 200, body: deletedSecretBundle(vaultOf(req), deleted) };
}

function purgeSecret(store: SecretStore, name: string): StandinResponse {
  return store.purge(name)
    ? { status: 204 }
    : vaultError(404, 'SecretNotFound', `Deleted Secret not found: ${name}`);
}

function recoverSecret(req: StandinRequest, store: SecretStore, name: string): StandinResponse {
  const recovered = store.recover(name);
  const current = recovered?.versions.at(-1);
  if (!recovered || !current) return vaultError(404, 'SecretNotFound', `Deleted Secret not found: ${name}`);
  return { status: 200, body: secretBundle(vaultOf(req), recovered.name, current) };
}
