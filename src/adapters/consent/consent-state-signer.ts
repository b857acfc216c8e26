import { randomBytes } from 'node:crypto';

import type { TokenCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';

import { type ConsentStateClaims, consentStateClaimsSchema } from '../../domain/consent.js';
import type { ConsentStateSigner } from '../../ports/consent.js';
import { PermanentError } from '../../shared/errors.js';
import { statusOf } from '../storage/table-gateway.js';

const MICROSOFT_VAULT_SUFFIXES = ['.vault.azure.net', '.vault.usgovcloudapi.net', '.vault.azure.cn'];
const ALGORITHM = 'HS256';

/** Where the HMAC key lives: a Key Vault secret, addressed by version (the state's `kid`). */
export interface ConsentKeyVault {
  /** The current version of the key, made (32 random bytes) on first use. */
  current(): Promise<{ version: string; key: Uint8Array }>;
  /** A given version of the key; undefined when the vault has no such version. */
  version(version: string): Promise<Uint8Array | undefined>;
}

/**
 * The consent `state` as a compact JWS (HS256) with `jose`: the claims (nonce, tenant, exp) signed with
 * an HMAC key that lives in Key Vault only. The protected header's `kid` names the key's version, so a
 * state stays verifiable when two instances create the key at once (each signs with its own version)
 * and after a rotation. jose checks the algorithm (HS256 only), the signature and `exp` at `now`.
 */
export class JwsConsentStateSigner implements ConsentStateSigner {
  constructor(private readonly keys: ConsentKeyVault) {}

  async sign(claims: ConsentStateClaims): Promise<string> {
    const { version, key } = await this.keys.current();
    return new SignJWT({ nonce: claims.nonce, tenant: claims.tenant })
      .setProtectedHeader({ alg: ALGORITHM, kid: version })
      .setExpirationTime(claims.exp)
      .sign(key);
  }

  async verify(
    state: string,
    now: Date,
  ): Promise<{ ok: true; claims: ConsentStateClaims } | { ok: false; reason: string }> {
    try {
      const { payload } = await jwtVerify(
        state,
        async (header) => {
          const key = header.kid === undefined ? undefined : await this.keys.version(header.kid);
          if (!key) throw new joseErrors.JWKSNoMatchingKey();
          return key;
        },
        { algorithms: [ALGORITHM], currentDate: now, clockTolerance: 0 },
      );
      const claims = consentStateClaimsSchema.safeParse(payload);
      if (!claims.success) return { ok: false, reason: 'the state does not carry the expected claims' };
      return { ok: true, claims: claims.data };
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) return { ok: false, reason: 'the state has expired' };
      if (error instanceof joseErrors.JOSEError) {
        return { ok: false, reason: 'the state was not issued by this app' };
      }
      throw error;
    }
  }
}

/** The HMAC key as a Key Vault secret (read and, on first use, written with the app's identity). */
export class KeyVaultConsentKeys implements ConsentKeyVault {
  readonly #client: SecretClient;
  readonly #versions = new Map<string, Promise<Uint8Array | undefined>>();
  #current: Promise<{ version: string; key: Uint8Array }> | undefined;

  constructor(
    vaultUrl: string,
    credential: TokenCredential,
    private readonly secretName: string,
  ) {
    const host = new URL(vaultUrl).hostname.toLowerCase();
    this.#client = new SecretClient(vaultUrl, credential, {
      disableChallengeResourceVerification: !MICROSOFT_VAULT_SUFFIXES.some((suffix) => host.endsWith(suffix)),
    });
  }

  current(): Promise<{ version: string; key: Uint8Array }> {
    if (!this.#current) {
      this.#current = this.#readOrCreate();
      this.#current.catch(() => (this.#current = undefined));
    }
    return this.#current;
  }

  version(version: string): Promise<Uint8Array | undefined> {
    if (!/^[0-9a-zA-Z]{1,64}$/.test(version)) return Promise.resolve(undefined);
    let found = this.#versions.get(version);
    if (!found) {
      found = this.#readVersion(version);
      this.#versions.set(version, found);
      found.catch(() => this.#versions.delete(version));
    }
    return found;
  }

  async #readOrCreate(): Promise<{ version: string; key: Uint8Array }> {
    try {
      const secret = await this.#client.getSecret(this.secretName);
      if (secret.value !== undefined && secret.properties.version) {
        return { version: secret.properties.version, key: Buffer.from(secret.value, 'base64url') };
      }
    } catch (error) {
      if (statusOf(error) !== 404) throw refusal(error, this.secretName);
    }
    const created = await this.#client
      .setSecret(this.secretName, randomBytes(32).toString('base64url'), {
        contentType: 'consent-state-hmac-key',
      })
      .catch((error: unknown) => {
        throw refusal(error, this.secretName);
      });
    if (created.value === undefined || !created.properties.version) {
      throw new PermanentError(`Key Vault did not keep secret ${this.secretName}`, 'invalid-data');
    }
    return { version: created.properties.version, key: Buffer.from(created.value, 'base64url') };
  }

  async #readVersion(version: string): Promise<Uint8Array | undefined> {
    try {
      const secret = await this.#client.getSecret(this.secretName, { version });
      return secret.value === undefined ? undefined : Buffer.from(secret.value, 'base64url');
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw refusal(error, this.secretName);
    }
  }
}

function refusal(error: unknown, name: string): unknown {
  const status = statusOf(error);
  if (status === 401 || status === 403) {
    return new PermanentError(
      `the function app may not read or write Key Vault secret ${name}`,
      'permission-denied',
    );
  }
  return error;
}
