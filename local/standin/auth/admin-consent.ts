/**
 * Entra's admin consent endpoint, `GET /{tenant|organizations}/v2.0/adminconsent?client_id&scope&
 * redirect_uri&state`: the admin "signs in" and answers as the control API told it to (accept every
 * requested permission or only some, decline, or not be allowed to consent), and the browser is sent
 * back to `redirect_uri` with Entra's callback parameters (`admin_consent`, `tenant`, `scope`, `state`,
 * or `error` and `error_description`). An accepted consent sets the app's granted permissions: the
 * tokens issued afterwards carry exactly those roles. Problems Entra shows on its own page (unknown
 * tenant or app, a missing redirect URI) are an HTML page here too, with no redirect.
 */
import type { RouteTable, StandinResponse } from '../http/route-table.js';
import { GRAPH_AUDIENCE } from './access-tokens.js';
import type { AppRegistration } from './app-registration.js';

export interface AdminConsentDeps {
  readonly tenantId: string;
  readonly app: AppRegistration;
  readonly origin: () => string;
}

export function registerAdminConsentRoute(routes: RouteTable, deps: AdminConsentDeps): void {
  routes.add(
    'GET',
    '/{tenant}/v2.0/adminconsent',
    (req, params) => {
      const tenant = params.tenant!;
      if (tenant.toLowerCase() !== deps.tenantId.toLowerCase() && tenant !== 'organizations') {
        return errorPage('AADSTS90002', `Tenant '${tenant}' not found.`);
      }
      const clientId = req.query.get('client_id') ?? '';
      if (clientId !== deps.app.clientId) {
        return errorPage(
          'AADSTS700016',
          `Application with identifier '${clientId}' was not found in the directory.`,
        );
      }
      const redirectUri = req.query.get('redirect_uri') ?? '';
      let redirect: URL;
      try {
        redirect = new URL(redirectUri);
        if (redirect.protocol !== 'https:' && redirect.protocol !== 'http:') throw new Error('scheme');
      } catch {
        return errorPage(
          'AADSTS50011',
          'The redirect URI specified in the request does not match the redirect URIs configured for the application.',
        );
      }
      const state = req.query.get('state');
      const back = (values: Record<string, string>): StandinResponse => {
        for (const [name, value] of Object.entries(values)) redirect.searchParams.set(name, value);
        if (state !== null) redirect.searchParams.set('state', state);
        return { status: 302, headers: { Location: redirect.toString() } };
      };
      const scope = (req.query.get('scope') ?? '').trim();
      if (scope !== `${GRAPH_AUDIENCE}/.default` && scope !== `${deps.origin()}/.default`) {
        return back({
          error: 'invalid_request',
          error_description: `AADSTS70011: The provided value for the input parameter 'scope' is not valid. The scope ${scope} is not valid.`,
        });
      }
      const consent = deps.app.consent;
      switch (consent.answer) {
        case 'decline':
          return back({
            admin_consent: 'True',
            error: 'access_denied',
            error_description: 'AADSTS65004: User declined to consent to access the app.',
          });
        case 'consent-required':
          return back({
            admin_consent: 'True',
            error: 'consent_required',
            error_description:
              'AADSTS90094: An administrator of the organization has set a policy that prevents you from granting the app the permissions it is requesting.',
          });
        case 'accept': {
          const granted = [...(consent.grant ?? deps.app.requestedPermissions)];
          deps.app.grantedPermissions = granted;
          return back({
            admin_consent: 'True',
            tenant: deps.tenantId,
            scope: granted.map((permission) => `${GRAPH_AUDIENCE}/${permission}`).join(' '),
          });
        }
      }
    },
    { auth: 'none' },
  );
}

function errorPage(code: string, message: string): StandinResponse {
  const text = `${code}: ${message}`.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
  return {
    status: 400,
    headers: { 'Content-Type': 'text/html; charset=utf-8' },
    body: `<!doctype html><html><body><h1>Sorry, but we're having trouble signing you in.</h1><p>${text}</p></body></html>`,
  };
}
