import { TABLES } from './storage-names.js';
import type { Row, TableGateway } from './table-gateway.js';

/** An app team as the API shows it: synced from an Entra group (`origin: 'entra'`) or made by the app. */
export interface TeamView {
  readonly teamId: string;
  readonly name: string;
  readonly description: string;
  readonly origin: 'entra' | 'app';
  /** The Entra group it is synced from; null for a team the app made. */
  readonly sourceGroupId: string | null;
  /** `active`, or `archived` once its group was deleted. */
  readonly status: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/**
 * The `teams` table, PartitionKey the tenant, RowKey the team id: Entra-synced teams (written by the
 * reconciler, with `sourceGroupId`) and app teams (`origin` 'app', no `sourceGroupId`, never deleted
 * by sync).
 */
export class TeamStore {
  constructor(private readonly tables: TableGateway) {}

  async list(tenantId: string): Promise<TeamView[]> {
    const rows = await this.tables.listPartition(TABLES.teams, tenantId);
    return rows.map(teamFromRow);
  }

  /** Which of these team ids exist. */
  async existing(tenantId: string, teamIds: Iterable<string>): Promise<Set<string>> {
    return new Set((await this.tables.readRows(TABLES.teams, tenantId, teamIds)).keys());
  }

  async create(tenantId: string, team: TeamView): Promise<boolean> {
    return this.tables.createIfAbsent(TABLES.teams, {
      partitionKey: tenantId,
      rowKey: team.teamId,
      name: team.name,
      description: team.description,
      origin: team.origin,
      status: team.status,
      sourceGroupId: team.sourceGroupId ?? '',
      createdAt: team.createdAt,
      updatedAt: team.updatedAt,
    });
  }
}

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

export function teamFromRow(row: Row): TeamView {
  const sourceGroupId = text(row.sourceGroupId);
  const origin =
    row.origin === 'app' || row.origin === 'entra' ? row.origin : sourceGroupId ? 'entra' : 'app';
  return {
    teamId: row.rowKey,
    name: text(row.name),
    description: text(row.description),
    origin,
    sourceGroupId: sourceGroupId === '' ? null : sourceGroupId,
    status: text(row.status) || 'active',
    createdAt: text(row.createdAt),
    updatedAt: text(row.updatedAt),
  };
}
