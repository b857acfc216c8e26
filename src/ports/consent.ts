import type { ConsentStateClaims } from '../domain/consent.js';

/** Signs and verifies the consent `state` (an HMAC key kept in Key Vault; never in a table or a log). */
export interface ConsentStateSigner {
  sign(claims: ConsentStateClaims): Promise<string>;
  /** The claims of a state this app signed and that has not expired at `now`, or why it is refused. */
  verify(
    state: string,
    now: Date,
  ): Promise<{ ok: true; claims: ConsentStateClaims } | { ok: false; reason: string }>;
}

/** Single use of a state's nonce. */
export interface ConsentNonces {
  /** Records the nonce as used; false when it already was (a replayed callback). */
  markUsed(nonce: string, expiresAt: Date, now: Date): Promise<boolean>;
}

/** What signing in to a tenant with the app registration's certificate proved. */
export interface TenantProof {
  /** The `tid` of the token Entra issued for the tenant (lower case). */
  readonly tokenTenantId: string;
  /** The application permissions granted there (the token's `roles`). */
  readonly roles: readonly string[];
  /** True when Graph answered a directory read with the token (possible only with a users permission). */
  readonly graphAnswered: boolean;
}

/** Signs in to a tenant as the multi-tenant app and asks Graph who it is. */
export interface TenantProbe {
  /** Throws when Entra or Graph refuses (no consent there, an unknown tenant). */
  prove(tenantId: string): Promise<TenantProof>;
}
