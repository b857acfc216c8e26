/** In-memory secrets with versions and soft delete, as Key Vault keeps them (recoverable for 90 days). */
import { randomBytes } from 'node:crypto';

export interface SecretVersion {
  readonly version: string;
  readonly value: string;
  readonly contentType: string | undefined;
  readonly tags: Readonly<Record<string, string>> | undefined;
  readonly enabled: boolean;
  readonly notBefore: number | undefined;
  readonly expires: number | undefined;
  readonly created: number;
  readonly updated: number;
}

export interface StoredSecret {
  readonly name: string;
  /** Oldest first; the last one is the current version. */
  readonly versions: readonly SecretVersion[];
  /** Set when the secret is soft-deleted (ms since epoch). */
  readonly deletedAt: number | undefined;
}

export interface SetSecretOptions {
  readonly contentType?: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly enabled?: boolean;
  readonly notBefore?: number;
  readonly expires?: number;
}

export interface SecretStore {
  /** Adds a new version and returns it. Throws `SecretDeletedError` if the name is soft-deleted. */
  set(name: string, value: string, options?: SetSecretOptions): SecretVersion;
  /** A live secret (not deleted), or undefined. */
  get(name: string): StoredSecret | undefined;
  getDeleted(name: string): StoredSecret | undefined;
  /** Live secrets, sorted by name. */
  list(): readonly StoredSecret[];
  softDelete(name: string): StoredSecret | undefined;
  purge(name: string): boolean;
  recover(name: string): StoredSecret | undefined;
}

export class SecretDeletedError extends Error {
  constructor(readonly secretName: string) {
    super(`Secret ${secretName} is currently in a deleted but recoverable state.`);
  }
}

/** Key Vault keeps soft-deleted secrets for 90 days by default. */
export const RECOVERABLE_DAYS = 90;

export function createSecretStore(now: () => number): SecretStore {
  const secrets = new Map<
    string,
    { name: string; versions: SecretVersion[]; deletedAt: number | undefined }
  >();
  const key = (name: string): string => name.toLowerCase();
  const live = (name: string) => {
    const secret = secrets.get(key(name));
    return secret && secret.deletedAt === undefined ? secret : undefined;
  };
  return {
    set(name, value, options = {}) {
      const existing = secrets.get(key(name));
      if (existing?.deletedAt !== undefined) throw new SecretDeletedError(name);
      const at = now();
      const version: SecretVersion = {
        version: randomBytes(16).toString('hex'),
        value,
        contentType: options.contentType,
        tags: options.tags,
        enabled: options.enabled ?? true,
        notBefore: options.notBefore,
        expires: options.expires,
        created: at,
        updated: at,
      };
      if (existing) existing.versions.push(version);
      else secrets.set(key(name), { name, versions: [version], deletedAt: undefined });
      return version;
    },
    get: live,
    getDeleted(name) {
      const secret = secrets.get(key(name));
      return secret?.deletedAt === undefined ? undefined : secret;
    },
    list() {
      return [...secrets.values()]
        .filter((secret) => secret.deletedAt === undefined)
        .sort((a, b) => a.name.localeCompare(b.name));
    },
    softDelete(name) {
      const secret = live(name);
      if (secret) secret.deletedAt = now();
      return secret;
    },
    purge(name) {
      const secret = secrets.get(key(name));
      if (secret?.deletedAt === undefined) return false;
      return secrets.delete(key(name));
    },
    recover(name) {
      const secret = secrets.get(key(name));
      if (secret?.deletedAt === undefined) return undefined;
      secret.deletedAt = undefined;
      return secret;
    },
  };
}
