import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { z } from 'zod';

/**
 * Who may call an HTTP route. Locally (and wherever SYNC_HTTP_AUTH is `function-keys`, the default) a
 * route is guarded by the Functions host's keys (`authLevel: 'function'`). In Azure, App Service
 * authentication (infra/app/auth.bicep) requires an Entra ID sign-in on every route but the anonymous
 * ones and passes the principal on as `x-ms-client-principal` (a header the platform sets and strips
 * from client requests); the routes are then anonymous to the host (no key on top of the token) and
 * the app checks the route's app role: `Sync.Admin` for admin routes, `Directory.Read` (or Sync.Admin)
 * for the app's routes (people, teams, custom properties, events).
 */
export type HttpAuthMode = 'function-keys' | 'app-service';
export type RouteAccess = 'public' | 'admin' | 'app';

export const ADMIN_ROLE = 'Sync.Admin';
export const APP_ROLE = 'Directory.Read';

/** Routes anyone may call (Graph's webhook, Entra's consent callback, probes): infra/app/auth.bicep's excludedPaths. */
const PUBLIC_ROUTES = new Set([
  'health',
  'notifications',
  'notifications/lifecycle',
  'connect/callback',
  'openapi.json',
]);
/** The consuming app's routes (read people, teams, custom properties and the event feed). */
const APP_ROUTES = /^(people|teams|custom-properties|events)(\/|$)/;

export function httpAuthMode(env: NodeJS.ProcessEnv = process.env): HttpAuthMode {
  return env.SYNC_HTTP_AUTH === 'app-service' ? 'app-service' : 'function-keys';
}

/** The `authLevel` of a guarded route: function keys locally, none behind App Service authentication. */
export function guardedAuthLevel(env: NodeJS.ProcessEnv = process.env): 'function' | 'anonymous' {
  return httpAuthMode(env) === 'app-service' ? 'anonymous' : 'function';
}

/** What a route (as registered, without `/api/`) needs. */
export function accessOf(route: string): RouteAccess {
  const path = route.replace(/^\/+/, '');
  if (PUBLIC_ROUTES.has(path)) return 'public';
  return APP_ROUTES.test(path) ? 'app' : 'admin';
}

const principalSchema = z
  .object({
    role_typ: z.string().optional(),
    claims: z.array(z.object({ typ: z.string(), val: z.string() }).loose()).default([]),
  })
  .loose();

/** The app roles of the principal App Service authentication passed on; undefined when there is none. */
export function principalRoles(header: string | null | undefined): string[] | undefined {
  if (!header) return undefined;
  try {
    const parsed = principalSchema.safeParse(JSON.parse(Buffer.from(header, 'base64').toString('utf8')));
    if (!parsed.success) return undefined;
    const roleType = parsed.data.role_typ;
    return parsed.data.claims.filter((c) => c.typ === 'roles' || c.typ === roleType).map((c) => c.val);
  } catch {
    return undefined;
  }
}

/**
 * Under App Service authentication, the refusal of a request to `route` (401 without a principal, 403
 * without the route's role); undefined when it may go on (and always with function keys: the host
 * checked the key).
 */
export function refusalOf(
  request: Pick<HttpRequest, 'headers'>,
  route: string,
  mode: HttpAuthMode,
): HttpResponseInit | undefined {
  if (mode !== 'app-service') return undefined;
  const access = accessOf(route);
  if (access === 'public') return undefined;
  const roles = principalRoles(request.headers.get('x-ms-client-principal'));
  if (roles === undefined) return { status: 401, jsonBody: { error: 'sign in with Entra ID' } };
  const allowed = access === 'app' ? [APP_ROLE, ADMIN_ROLE] : [ADMIN_ROLE];
  if (!roles.some((role) => allowed.includes(role))) {
    return { status: 403, jsonBody: { error: `this route needs the app role ${allowed[0]!}` } };
  }
  return undefined;
}
