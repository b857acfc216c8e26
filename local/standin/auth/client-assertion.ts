/** Verifies a client assertion (RFC 7523 JWT signed with the app's certificate) as Entra does. */
import { constants as cryptoConstants, createPublicKey, verify } from 'node:crypto';

import { z } from 'zod';

import type { AppRegistration } from './app-registration.js';

const headerSchema = z.object({
  alg: z.enum(['RS256', 'PS256']),
  x5t: z.string().optional(),
  'x5t#S256': z.string().optional(),
});
const claimsSchema = z.object({
  aud: z.string(),
  iss: z.string(),
  sub: z.string(),
  exp: z.number(),
  nbf: z.number().optional(),
});

export type AssertionCheck =
  { readonly ok: true } | { readonly ok: false; readonly code: string; readonly description: string };

export function verifyClientAssertion(
  assertion: string,
  app: AppRegistration,
  expectedAudiences: readonly string[],
  nowMs: number,
): AssertionCheck {
  const parts = assertion.split('.');
  if (parts.length !== 3) return invalid('AADSTS50027', 'JWT token is invalid or malformed.');
  const [h, p, s] = parts as [string, string, string];
  const header = headerSchema.safeParse(decodeJson(h));
  const claims = claimsSchema.safeParse(decodeJson(p));
  if (!header.success || !claims.success) return invalid('AADSTS50027', 'JWT token is invalid or malformed.');
  const thumbprintMatches =
    header.data['x5t#S256'] === app.x5tS256 || (header.data.x5t !== undefined && header.data.x5t === app.x5t);
  if (!thumbprintMatches) {
    return invalid(
      'AADSTS700027',
      `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${header.data.x5t ?? header.data['x5t#S256'] ?? ''}']`,
    );
  }
  const key = createPublicKey(app.certificatePem);
  const signed = Buffer.from(`${h}.${p}`);
  const signature = Buffer.from(s, 'base64url');
  const valid =
    header.data.alg === 'RS256'
      ? verify('sha256', signed, key, signature)
      : verify(
          'sha256',
          signed,
          {
            key,
            padding: cryptoConstants.RSA_PKCS1_PSS_PADDING,
            saltLength: cryptoConstants.RSA_PSS_SALTLEN_DIGEST,
          },
          signature,
        );
  if (!valid) return invalid('AADSTS700027', 'Client assertion failed signature validation.');
  if (claims.data.iss !== app.clientId || claims.data.sub !== app.clientId) {
    return invalid('AADSTS700023', 'Client assertion audience claim does not match Realm issuer.');
  }
  if (!expectedAudiences.includes(claims.data.aud)) {
    return invalid(
      'AADSTS700016',
      `The audience claim in the client assertion is not valid. Expected one of: ${expectedAudiences.join(', ')}.`,
    );
  }
  if (claims.data.exp * 1000 <= nowMs)
    return invalid('AADSTS700024', 'Client assertion is not within its valid time range.');
  return { ok: true };
}

function decodeJson(segment: string): unknown {
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function invalid(code: string, description: string): AssertionCheck {
  return { ok: false, code, description };
}
