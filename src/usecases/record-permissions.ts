import { TABLES } from '../adapters/storage/storage-names.js';
import type { TableGateway } from '../adapters/storage/table-gateway.js';
import type { DirectorySource } from '../ports/directory-source.js';
import type { Logger } from './pipeline-deps.js';

/**
 * The last permission check of a connection: the application permissions (the `roles` claim) of the
 * token a round signs in with, recorded when the round starts (`syncState`, RowKey `permissions`:
 * `roles`, `missing` as JSON arrays, `checkedAt`), and read by the status route. Each permission the
 * sync needs is satisfied by itself or by a broader one.
 */
export const REQUIRED_PERMISSIONS: Readonly<Record<string, readonly string[]>> = {
  'User.Read.All': ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'],
  'GroupMember.Read.All': [
    'GroupMember.Read.All',
    'GroupMember.ReadWrite.All',
    'Group.Read.All',
    'Group.ReadWrite.All',
    'Directory.Read.All',
    'Directory.ReadWrite.All',
  ],
};

export interface PermissionCheck {
  readonly roles: readonly string[];
  readonly missing: readonly string[];
  readonly checkedAt: string;
}

export function missingPermissions(roles: readonly string[]): string[] {
  return Object.entries(REQUIRED_PERMISSIONS)
    .filter(([, enough]) => !enough.some((role) => roles.includes(role)))
    .map(([permission]) => permission);
}

/** A source that can tell its token's roles (the Graph adapter can; a fake source may not). */
function rolesReader(source: DirectorySource): (() => Promise<string[]>) | undefined {
  const candidate = (source as unknown as Partial<{ grantedRoles: () => Promise<string[]> }>).grantedRoles;
  return typeof candidate === 'function' ? () => candidate.call(source) : undefined;
}

/**
 * Records the roles of the round's token. Never fails the round: a token that cannot be read here
 * fails the round's first Graph request anyway, with its own error.
 */
export async function recordPermissionCheck(
  deps: { readonly tables: TableGateway; now(): Date },
  tenantId: string,
  source: DirectorySource,
  log: Logger,
): Promise<void> {
  const read = rolesReader(source);
  if (!read) return;
  try {
    const roles = [...(await read())].sort();
    await deps.tables.upsert(TABLES.syncState, {
      partitionKey: tenantId,
      rowKey: 'permissions',
      roles: JSON.stringify(roles),
      missing: JSON.stringify(missingPermissions(roles)),
      checkedAt: deps.now().toISOString(),
    });
  } catch (error) {
    log.warn('the permission check could not be recorded', {
      tenantId,
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

/** The last check recorded, or null when no round has checked yet. */
export async function lastPermissionCheck(
  tables: TableGateway,
  tenantId: string,
): Promise<PermissionCheck | null> {
  const row = await tables.get(TABLES.syncState, tenantId, 'permissions');
  if (!row || typeof row.checkedAt !== 'string') return null;
  const list = (value: unknown): string[] => {
    try {
      const parsed = JSON.parse(typeof value === 'string' ? value : '[]') as unknown;
      return Array.isArray(parsed) ? parsed.map(String) : [];
    } catch {
      return [];
    }
  };
  return { roles: list(row.roles), missing: list(row.missing), checkedAt: row.checkedAt };
}
