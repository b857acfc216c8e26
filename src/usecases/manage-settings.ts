import type { SavedSettings } from '../adapters/storage/settings-history-store.js';
import type { ConnectionSettings } from '../domain/connection-settings.js';
import { directoryExtensionsOf } from '../domain/mirrored-properties.js';
import { nextDueAfter } from '../domain/schedule.js';
import { parseUserFilter } from '../domain/user-filter.js';
import type { ApiDeps } from './api-deps.js';
import { type ApiIssue, type ApiResult, ok, refuse } from './api-result.js';
import { requestReproject, requestSync } from './request-sync.js';

/**
 * A connection's settings through the admin API: read, saved as a new version (optimistic
 * concurrency on the version, references checked, a copy kept in settingsHistory), listed by
 * version, rolled back. Every save asks the pipeline to re-project everyone from the mirror.
 */
export interface SettingsView {
  readonly settings: ConnectionSettings;
  readonly version: number;
}

export interface SettingsVersion {
  readonly version: number;
  /** When it was saved ('' for a version saved before history was kept, such as the first). */
  readonly savedAt: string;
  readonly settings: ConnectionSettings;
}

const SAVE_ATTEMPTS = 5;

export async function readSettings(deps: ApiDeps, tenantId: string): Promise<ApiResult<SettingsView>> {
  const connection = await deps.pipeline.connections.get(tenantId);
  if (!connection) return refuse(404, `no connection for tenant ${tenantId}`);
  return ok({ settings: connection.settings, version: connection.settings.version });
}

/**
 * Saves a full settings document (already parsed with the connection settings schema) as version
 * current + 1. `ifMatch`: the version the client read; 412 when the current one differs.
 */
export async function saveSettings(
  deps: ApiDeps,
  tenantId: string,
  document: ConnectionSettings,
  ifMatch: string | undefined,
): Promise<ApiResult<SettingsView>> {
  const issues = await checkSettings(deps, tenantId, document);
  if (issues.length > 0) return refuse(400, 'invalid settings', { issues });
  return commit(deps, tenantId, document, ifMatch);
}

/**
 * What a save checks in a parsed document before it saves it (a preview checks the same): it is the
 * route's connection's, and what it names exists (checkReferences).
 */
export async function checkSettings(
  deps: ApiDeps,
  tenantId: string,
  document: ConnectionSettings,
): Promise<ApiIssue[]> {
  if (document.tenantId !== tenantId) {
    return [{ path: 'tenantId', message: `expected ${tenantId}, the connection of this route` }];
  }
  return checkReferences(deps, document);
}

/** Saves version `version`'s document as a new version (the same checks as a save). */
export async function rollbackSettings(
  deps: ApiDeps,
  tenantId: string,
  version: number,
  ifMatch: string | undefined,
): Promise<ApiResult<SettingsView>> {
  const connection = await deps.pipeline.connections.get(tenantId);
  if (!connection) return refuse(404, `no connection for tenant ${tenantId}`);
  const saved =
    (await deps.settingsHistory.get(tenantId, version)) ??
    (connection.settings.version === version ? { settings: connection.settings } : undefined);
  if (!saved) return refuse(404, `no version ${version} of the settings of ${tenantId}`);
  const issues = await checkReferences(deps, saved.settings);
  if (issues.length > 0) {
    return refuse(400, `version ${version} refers to what no longer exists`, { issues });
  }
  return commit(deps, tenantId, saved.settings, ifMatch);
}

/** Saved versions, newest first: `top` of them from `before` (exclusive; the newest without it). */
export async function listSettingsHistory(
  deps: ApiDeps,
  tenantId: string,
  page: { top: number; before?: number },
): Promise<ApiResult<{ versions: SettingsVersion[]; before?: number }>> {
  const connection = await deps.pipeline.connections.get(tenantId);
  if (!connection) return refuse(404, `no connection for tenant ${tenantId}`);
  const current = connection.settings.version;
  const upTo = Math.min(current, (page.before ?? current + 1) - 1);
  if (upTo < 0) return ok({ versions: [] });
  const versions: SettingsVersion[] = await deps.settingsHistory.newestFirst(tenantId, upTo, page.top);
  // The current version is always listed, even when a crash left it out of the history table.
  if (upTo === current && versions[0]?.version !== current) {
    versions.unshift({ version: current, savedAt: '', settings: connection.settings });
    if (versions.length > page.top) versions.pop();
  }
  const from = upTo - page.top + 1;
  return ok(from > 0 ? { versions, before: from } : { versions });
}

/**
 * What a document names must exist: scope groups, team mappings' groups and selected groupSync
 * groups in the mirror (alive), team mappings' teams in the app's teams, mapped custom properties in
 * the definitions; and the scope's `$filter` must parse (refused with its position and reason).
 */
export async function checkReferences(deps: ApiDeps, settings: ConnectionSettings): Promise<ApiIssue[]> {
  const { tenantId, policy } = settings;
  const issues: ApiIssue[] = [];
  if (policy.scope.filter !== null) {
    const parsed = parseUserFilter(policy.scope.filter);
    if (!parsed.ok) {
      issues.push({
        path: 'policy.scope.filter',
        message: `${parsed.reason} (at position ${parsed.position})`,
        position: parsed.position,
      });
    }
  }

  const groupRefs: { path: string; id: string }[] = [
    ...policy.scope.groups.map((id, i) => ({ path: `policy.scope.groups.${i}`, id })),
    ...policy.teams.mappings.map((m, i) => ({ path: `policy.teams.mappings.${i}.groupId`, id: m.groupId })),
    ...(policy.teams.groupSync.mode === 'selected'
      ? policy.teams.groupSync.groups.map((id, i) => ({ path: `policy.teams.groupSync.groups.${i}`, id }))
      : []),
  ];
  const teamRefs = policy.teams.mappings.map((m, i) => ({
    path: `policy.teams.mappings.${i}.teamId`,
    id: m.teamId,
  }));
  const propertyRefs = policy.mappings.flatMap((m, i) =>
    'customProperty' in m.target
      ? [{ path: `policy.mappings.${i}.target.customProperty`, name: m.target.customProperty }]
      : [],
  );

  const [groups, teams, definitions] = await Promise.all([
    groupRefs.length > 0
      ? deps.mirrorGroups.alive(tenantId, new Set(groupRefs.map((r) => r.id)))
      : new Set<string>(),
    teamRefs.length > 0
      ? deps.teams.existing(tenantId, new Set(teamRefs.map((r) => r.id)))
      : new Set<string>(),
    propertyRefs.length > 0 ? deps.customProperties.list(tenantId) : [],
  ]);
  for (const ref of groupRefs) {
    if (!groups.has(ref.id))
      issues.push({ path: ref.path, message: `no group ${ref.id} in the directory mirror` });
  }
  for (const ref of teamRefs) {
    if (!teams.has(ref.id))
      issues.push({ path: ref.path, message: `no app team ${ref.id} (GET /api/teams)` });
  }
  const defined = new Set(definitions.map((d) => d.name));
  for (const ref of propertyRefs) {
    if (!defined.has(ref.name)) {
      issues.push({ path: ref.path, message: `no custom property ${ref.name} (GET /api/custom-properties)` });
    }
  }
  return issues;
}

async function commit(
  deps: ApiDeps,
  tenantId: string,
  document: ConnectionSettings,
  ifMatch: string | undefined,
): Promise<ApiResult<SettingsView>> {
  const { connections } = deps.pipeline;
  for (let attempt = 0; attempt < SAVE_ATTEMPTS; attempt += 1) {
    const connection = await connections.get(tenantId);
    if (!connection) return refuse(404, `no connection for tenant ${tenantId}`);
    const current = connection.settings.version;
    if (ifMatch !== undefined && ifMatch !== String(current)) {
      return refuse(412, `the settings are at version ${current}, not ${ifMatch}`, {
        details: { version: current },
      });
    }
    // The version being replaced is in the history too (the first one, or one a crash left out).
    if (!(await deps.settingsHistory.get(tenantId, current))) {
      await deps.settingsHistory.record({ version: current, savedAt: '', settings: connection.settings });
    }
    const now = deps.pipeline.now();
    const next: ConnectionSettings = { ...document, tenantId, version: current + 1 };
    const sameSchedule = JSON.stringify(next.schedule) === JSON.stringify(connection.settings.schedule);
    const nextDueAt = sameSchedule
      ? connection.nextDueAt === ''
        ? null
        : new Date(connection.nextDueAt)
      : nextDueAfter(next.schedule, now);
    if (!(await connections.replace(connection, next, nextDueAt))) continue;
    const saved: SavedSettings = { version: next.version, savedAt: now.toISOString(), settings: next };
    await deps.settingsHistory.record(saved);
    // A delta link keeps the $select it was made with: a directory extension the mirror does not
    // hold yet needs a full round (which re-plans everyone); anything else re-projects from the mirror.
    const before = new Set(directoryExtensionsOf(connection.settings.policy));
    if (directoryExtensionsOf(next.policy).some((name) => !before.has(name))) {
      await requestSync(deps.pipeline, tenantId, 'settings', true);
    } else {
      await requestReproject(deps.pipeline, tenantId);
    }
    return ok({ settings: next, version: next.version });
  }
  return refuse(412, 'the settings kept changing while they were saved; read them again');
}
