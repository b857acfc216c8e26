/** The app registration the stand-in knows: client id, a secret, a certificate, and granted app roles. */
import { createHash, X509Certificate } from 'node:crypto';

import { createClientCertificate } from '../tls/local-ca.js';

export const DEFAULT_GRANTED_PERMISSIONS: readonly string[] = [
  'User.Read.All',
  'GroupMember.Read.All',
  'Mail.Send',
];

/**
 * What the admin answers on the next admin consent screens (`/{tenant}/v2.0/adminconsent`): accept
 * (every requested permission, or only `grant`), decline, or not be allowed to consent.
 */
export type ConsentAnswer =
  | { readonly answer: 'accept'; readonly grant?: readonly string[] }
  | { readonly answer: 'decline' }
  | { readonly answer: 'consent-required' };

export interface AppRegistration {
  readonly clientId: string;
  /** Object id of the app's service principal (the `oid` of its tokens). */
  readonly servicePrincipalId: string;
  readonly clientSecret: string;
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  /** base64url SHA-1 and SHA-256 thumbprints (the `x5t` and `x5t#S256` of client assertions). */
  readonly x5t: string;
  readonly x5tS256: string;
  /** Application permissions granted (admin-consented); changeable at run time. */
  grantedPermissions: string[];
  /** The application permissions the registration asks for (what a consent grants by default). */
  readonly requestedPermissions: readonly string[];
  /** The answer of the next admin consents (default: accept everything requested). */
  consent: ConsentAnswer;
}

export interface AppRegistrationOptions {
  readonly clientId: string;
  readonly servicePrincipalId: string;
  readonly clientSecret: string;
  readonly grantedPermissions?: readonly string[];
}

export function createAppRegistration(options: AppRegistrationOptions): AppRegistration {
  const { certPem, keyPem } = createClientCertificate(`entra-sync-standin-app-${options.clientId}`);
  const der = new X509Certificate(certPem).raw;
  return {
    clientId: options.clientId,
    servicePrincipalId: options.servicePrincipalId,
    clientSecret: options.clientSecret,
    certificatePem: certPem,
    privateKeyPem: keyPem,
    x5t: createHash('sha1').update(der).digest('base64url'),
    x5tS256: createHash('sha256').update(der).digest('base64url'),
    grantedPermissions: [...(options.grantedPermissions ?? DEFAULT_GRANTED_PERMISSIONS)],
    requestedPermissions: [...DEFAULT_GRANTED_PERMISSIONS],
    consent: { answer: 'accept' },
  };
}
