/**
 * The stand-in's access tokens: JWTs signed with an HMAC key of the running stand-in, carrying the claims
 * Entra puts in app-only tokens (`aud`, `iss`, `tid`, `appid`, `roles`, `exp`). Validated on every call.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

import { z } from 'zod';

export const GRAPH_AUDIENCE = 'https://graph.microsoft.com';
export const KEYVAULT_AUDIENCE = 'https://vault.azure.net';
export type Audience = typeof GRAPH_AUDIENCE | typeof KEYVAULT_AUDIENCE;

const claimsSchema = z.object({
  aud: z.string(),
  iss: z.string(),
  iat: z.number(),
  nbf: z.number(),
  exp: z.number(),
  appid: z.string(),
  tid: z.string(),
  oid: z.string(),
  roles: z.array(z.string()),
});
export type AccessTokenClaims = z.infer<typeof claimsSchema>;

export type TokenCheck =
  { readonly ok: true; readonly claims: AccessTokenClaims } | { readonly ok: false; readonly reason: string };

export function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

export class AccessTokenIssuer {
  private readonly key = randomBytes(32);

  constructor(
    private readonly now: () => Date,
    readonly lifetimeSeconds: number,
  ) {}

  issue(claims: Omit<AccessTokenClaims, 'iat' | 'nbf' | 'exp' | 'iss'>): {
    token: string;
    expiresIn: number;
  } {
    const iat = Math.floor(this.now().getTime() / 1000);
    const full: AccessTokenClaims = {
      ...claims,
      iss: `https://sts.windows.net/${claims.tid}/`,
      iat,
      nbf: iat - 300,
      exp: iat + this.lifetimeSeconds,
    };
    const header = base64url(JSON.stringify({ typ: 'JWT', alg: 'HS256', kid: 'standin' }));
    const payload = base64url(JSON.stringify({ ...full, ver: '1.0', idtyp: 'app' }));
    const signature = this.sign(`${header}.${payload}`);
    return { token: `${header}.${payload}.${signature}`, expiresIn: this.lifetimeSeconds };
  }

  /** Checks signature, expiry, audience and tenant of a bearer token. */
  verify(token: string, audience: Audience, tenantId: string): TokenCheck {
    const parts = token.split('.');
    if (parts.length !== 3) return { ok: false, reason: 'IDX14100: JWT is not well formed.' };
    const [header, payload, signature] = parts as [string, string, string];
    const expected = Buffer.from(this.sign(`${header}.${payload}`));
    const actual = Buffer.from(signature);
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
      return { ok: false, reason: 'Invalid signature.' };
    }
    let decoded: unknown;
    try {
      decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return { ok: false, reason: 'IDX14100: JWT is not well formed.' };
    }
    const parsed = claimsSchema.safeParse(decoded);
    if (!parsed.success) return { ok: false, reason: 'IDX14100: JWT is not well formed.' };
    const claims = parsed.data;
    if (claims.exp * 1000 <= this.now().getTime())
      return { ok: false, reason: 'Lifetime validation failed, the token is expired.' };
    if (claims.aud !== audience) return { ok: false, reason: 'Invalid audience.' };
    if (claims.tid !== tenantId) return { ok: false, reason: 'Invalid tenant.' };
    return { ok: true, claims };
  }

  private sign(data: string): string {
    return createHmac('sha256', this.key).update(data).digest('base64url');
  }
}
