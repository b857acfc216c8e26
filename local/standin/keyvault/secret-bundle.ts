/** Key Vault's JSON shapes for secrets: SecretBundle, SecretItem and DeletedSecretBundle. */
import { RECOVERABLE_DAYS, type SecretVersion, type StoredSecret } from './secret-store.js';

const seconds = (ms: number): number => Math.floor(ms / 1000);

function attributes(version: SecretVersion): Record<string, unknown> {
  return {
    enabled: version.enabled,
    ...(version.notBefore === undefined ? {} : { nbf: seconds(version.notBefore) }),
    ...(version.expires === undefined ? {} : { exp: seconds(version.expires) }),
    created: seconds(version.created),
    updated: seconds(version.updated),
    recoveryLevel: 'Recoverable+Purgeable',
    recoverableDays: RECOVERABLE_DAYS,
  };
}

function optional(version: SecretVersion): Record<string, unknown> {
  return {
    ...(version.contentType === undefined ? {} : { contentType: version.contentType }),
    ...(version.tags === undefined ? {} : { tags: version.tags }),
  };
}

export function secretBundle(vault: string, name: string, version: SecretVersion): Record<string, unknown> {
  return {
    value: version.value,
    id: `${vault}/secrets/${name}/${version.version}`,
    attributes: attributes(version),
    ...optional(version),
  };
}

export function secretItem(vault: string, secret: StoredSecret): Record<string, unknown> {
  const current = secret.versions.at(-1);
  return {
    id: `${vault}/secrets/${secret.name}`,
    ...(current ? { attributes: attributes(current), ...optional(current) } : {}),
  };
}

/** Deleted bundles carry no value (the SDK reads `recoveryId` to know the vault soft-deletes). */
export function deletedSecretBundle(vault: string, secret: StoredSecret): Record<string, unknown> {
  const current = secret.versions.at(-1);
  const deletedAt = secret.deletedAt ?? 0;
  return {
    recoveryId: `${vault}/deletedsecrets/${secret.name}`,
    deletedDate: seconds(deletedAt),
    scheduledPurgeDate: seconds(deletedAt + RECOVERABLE_DAYS * 86_400_000),
    ...(current
      ? {
          id: `${vault}/secrets/${secret.name}/${current.version}`,
          attributes: attributes(current),
          ...optional(current),
        }
      : {}),
  };
}
