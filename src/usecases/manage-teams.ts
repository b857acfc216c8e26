import type { TeamView } from '../adapters/storage/team-store.js';
import type { ApiDeps } from './api-deps.js';
import { type ApiResult, ok, refuse } from './api-result.js';

/**
 * The app's teams (GET/POST /api/teams): the ones sync keeps from Entra groups, and the ones the app
 * made (origin 'app', never deleted by sync).
 */
export async function listTeams(deps: ApiDeps, tenantId: string): Promise<ApiResult<{ teams: TeamView[] }>> {
  const teams = await deps.teams.list(tenantId);
  return ok({
    teams: teams.sort((a, b) => a.name.localeCompare(b.name) || a.teamId.localeCompare(b.teamId)),
  });
}

export async function createTeam(
  deps: ApiDeps,
  tenantId: string,
  input: { readonly name: string; readonly description?: string },
): Promise<ApiResult<TeamView>> {
  const now = deps.pipeline.now().toISOString();
  const team: TeamView = {
    teamId: deps.newId(),
    name: input.name.trim(),
    description: input.description?.trim() ?? '',
    origin: 'app',
    sourceGroupId: null,
    status: 'active',
    createdAt: now,
    updatedAt: now,
  };
  if (!(await deps.teams.create(tenantId, team))) return refuse(409, `team ${team.teamId} exists`);
  return ok(team);
}
