/** Issue 8, points 1 and 5: the settings API (versions, references, history, rollback) and disputes. */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DisputeStore } from '../../src/adapters/storage/dispute-store.js';
import { TABLES } from '../../src/adapters/storage/storage-names.js';
import type { ConnectionSettings } from '../../src/domain/connection-settings.js';
import { PipelineUnderTest } from '../pipeline/pipeline-harness.js';
import { type ApiCall, apiClient } from './api-client.js';

interface SettingsBody {
  readonly settings: ConnectionSettings;
  readonly version: number;
}
interface IssuesBody {
  readonly error: string;
  readonly issues: { path: string; message: string; position?: number }[];
}

describe('settings and disputes API', () => {
  let pipeline: PipelineUnderTest;
  let api: ApiCall;
  let tenantId: string;
  const groups = { alive: randomUUID(), other: randomUUID(), deleted: randomUUID() };
  let teamId: string;

  const settingsPath = () => `connections/${tenantId}/settings`;
  const current = async (): Promise<SettingsBody> => (await api<SettingsBody>('GET', settingsPath())).body;
  const withPolicy = (settings: ConnectionSettings, policy: Record<string, unknown>): unknown => ({
    ...settings,
    policy: { ...settings.policy, ...policy },
  });
  const settingsRuns = async (): Promise<number> =>
    (await pipeline.deps().runs.list(tenantId, 50)).filter((row) => row.trigger === 'settings').length;
  async function waitForSettingsRuns(count: number): Promise<void> {
    for (let i = 0; i < 120 && (await settingsRuns()) < count; i += 1) await sleep(250);
    expect(await settingsRuns()).toBeGreaterThanOrEqual(count);
  }

  beforeAll(async () => {
    pipeline = await PipelineUnderTest.start({ standin: { users: 10, seed: 81 } });
    api = apiClient(() => pipeline.env.host().httpBaseUrl, pipeline.env.functionKey);
    tenantId = pipeline.env.tenantId;
    const { tables } = pipeline.deps();
    for (const [name, id] of Object.entries(groups)) {
      await tables.upsert(TABLES.dirGroups, {
        partitionKey: tenantId,
        rowKey: id,
        version: '00000001.000001.000001',
        deleted: name === 'deleted' ? 'hard' : '',
        facts: JSON.stringify({ displayName: name, description: null, mailNickname: name }),
      });
    }
    const team = await api<{ teamId: string }>('POST', 'teams', { name: 'Sales floor' });
    expect(team.status).toBe(201);
    teamId = team.body.teamId;
    const properties = await api('PUT', 'custom-properties', [{ name: 'costCenter', type: 'string' }]);
    expect(properties.status).toBe(200);
  });

  afterAll(async () => {
    await pipeline?.stop();
  });

  it('GET answers the settings document and its version, credential names but no secret value', async () => {
    const response = await api<SettingsBody>('GET', settingsPath());
    expect(response.status).toBe(200);
    expect(response.body.version).toBe(0);
    expect(response.headers.get('etag')).toBe('"0"');
    expect(response.body.settings.tenantId).toBe(tenantId);
    expect(response.body.settings.credential).toMatchObject({ kind: 'client-secret' });
    expect(JSON.stringify(response.body)).not.toContain(pipeline.env.standin.clientSecret);
    expect((await api('GET', `connections/${randomUUID()}/settings`)).status).toBe(404);
  });

  it('PUT answers 400 with the field paths of a bad document, and saves nothing', async () => {
    const { settings } = await current();
    const bad = withPolicy(settings, {
      scope: { ...settings.policy.scope, groups: ['not-a-guid'] },
      mergeStrategy: 'sometimes',
    });
    const response = await api<IssuesBody>('PUT', settingsPath(), bad);
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('invalid settings');
    expect(response.body.issues.map((i) => i.path).sort()).toEqual([
      'policy.mergeStrategy',
      'policy.scope.groups.0',
    ]);
    const notJson = await api<IssuesBody>('PUT', settingsPath(), '{ nope');
    expect(notJson.status).toBe(400);
    const otherTenant = await api<IssuesBody>('PUT', settingsPath(), { ...settings, tenantId: randomUUID() });
    expect(otherTenant.status).toBe(400);
    expect(otherTenant.body.issues.map((i) => i.path)).toEqual(['tenantId']);
    expect((await current()).version).toBe(0);
  });

  it('PUT refuses a $filter it cannot parse with the reason and the position', async () => {
    const { settings } = await current();
    const filter = "department eq 'Sales' and endswith(mail,'@contoso.com')";
    const response = await api<IssuesBody>(
      'PUT',
      settingsPath(),
      withPolicy(settings, { scope: { ...settings.policy.scope, filter } }),
    );
    expect(response.status).toBe(400);
    expect(response.body.issues).toHaveLength(1);
    const [issue] = response.body.issues;
    expect(issue!.path).toBe('policy.scope.filter');
    expect(issue!.position).toBe(filter.indexOf('endswith'));
    expect(issue!.message).toMatch(/endswith/);
    expect((await current()).version).toBe(0);
  });

  it('PUT refuses unknown or deleted scope groups, unknown teams and team groups, undefined custom properties, each by its path', async () => {
    const { settings } = await current();
    const response = await api<IssuesBody>(
      'PUT',
      settingsPath(),
      withPolicy(settings, {
        scope: { ...settings.policy.scope, groups: [groups.alive, randomUUID(), groups.deleted] },
        teams: {
          ...settings.policy.teams,
          mappings: [
            { groupId: groups.alive, teamId },
            { groupId: randomUUID(), teamId: 'no-such-team' },
          ],
        },
        mappings: [
          { source: 'department', target: { customProperty: 'costCenter' } },
          { source: 'city', target: { customProperty: 'shoeSize' } },
        ],
      }),
    );
    expect(response.status).toBe(400);
    expect(response.body.issues.map((i) => i.path).sort()).toEqual([
      'policy.mappings.1.target.customProperty',
      'policy.scope.groups.1',
      'policy.scope.groups.2',
      'policy.teams.mappings.1.groupId',
      'policy.teams.mappings.1.teamId',
    ]);
    expect((await current()).version).toBe(0);
  });

  it('PUT saves the document as version + 1 with a copy in settingsHistory, and the pipeline re-projects', async () => {
    const before = await settingsRuns();
    const { settings } = await current();
    const document = withPolicy(settings, {
      scope: { ...settings.policy.scope, groups: [groups.alive], filter: "department eq 'Sales'" },
      mergeStrategy: 'app-wins',
      teams: { ...settings.policy.teams, mappings: [{ groupId: groups.other, teamId }] },
      mappings: [{ source: 'department', target: { customProperty: 'costCenter' } }],
    });
    const response = await api<SettingsBody>('PUT', settingsPath(), document, { 'if-match': '"0"' });
    expect(response.status).toBe(200);
    expect(response.body.version).toBe(1);
    expect(response.headers.get('etag')).toBe('"1"');
    expect(response.body.settings.policy.mergeStrategy).toBe('app-wins');
    expect(await current()).toEqual(response.body);

    const { tables } = pipeline.deps();
    const copy = await tables.get(TABLES.settingsHistory, tenantId, '0000000001');
    expect(copy).toMatchObject({ version: 1 });
    expect(JSON.parse(String(copy!.settings))).toEqual(response.body.settings);
    expect(Number.isNaN(Date.parse(String(copy!.savedAt)))).toBe(false);
    expect(await tables.get(TABLES.settingsHistory, tenantId, '0000000000')).toBeDefined();
    await waitForSettingsRuns(before + 1);
  });

  it('PUT with a stale If-Match answers 412 and saves nothing', async () => {
    const { settings, version } = await current();
    const response = await api<{ error: string; version: number }>(
      'PUT',
      settingsPath(),
      withPolicy(settings, { mergeStrategy: 'skip-conflicts' }),
      { 'if-match': `"${version - 1}"` },
    );
    expect(response.status).toBe(412);
    expect(response.body.version).toBe(version);
    expect((await current()).version).toBe(version);
  });

  it('history lists versions newest first, paged; rollback saves an old version as a new one', async () => {
    const { settings } = await current();
    const saved = await api<SettingsBody>(
      'PUT',
      settingsPath(),
      withPolicy(settings, { mergeStrategy: 'skip-conflicts' }),
    );
    expect(saved.body.version).toBe(2);

    type HistoryBody = { versions: SettingsBody[]; continuationToken?: string };
    const first = await api<HistoryBody>('GET', `${settingsPath()}/history?top=2`);
    expect(first.status).toBe(200);
    expect(first.body.versions.map((v) => v.version)).toEqual([2, 1]);
    expect(first.body.versions[0]!.settings.policy.mergeStrategy).toBe('skip-conflicts');
    const second = await api<HistoryBody>(
      'GET',
      `${settingsPath()}/history?top=2&continuationToken=${first.body.continuationToken!}`,
    );
    expect(second.body.versions.map((v) => v.version)).toEqual([0]);
    expect(second.body.continuationToken).toBeUndefined();
    expect((await api<IssuesBody>('GET', `${settingsPath()}/history?top=0`)).status).toBe(400);

    const rolledBack = await api<SettingsBody>('POST', `${settingsPath()}/rollback`, { version: 1 });
    expect(rolledBack.status).toBe(200);
    expect(rolledBack.body.version).toBe(3);
    expect(rolledBack.body.settings.policy).toEqual(first.body.versions[1]!.settings.policy);
    expect((await current()).settings.policy.mergeStrategy).toBe('app-wins');
    const newest = await api<HistoryBody>('GET', `${settingsPath()}/history?top=1`);
    expect(newest.body.versions[0]).toMatchObject({ version: 3 });
    expect((await api('POST', `${settingsPath()}/rollback`, { version: 99 })).status).toBe(404);
    expect((await api<IssuesBody>('POST', `${settingsPath()}/rollback`, { version: 'one' })).status).toBe(
      400,
    );
    expect(
      (await api('POST', `${settingsPath()}/rollback`, { version: 0 }, { 'if-match': '"2"' })).status,
    ).toBe(412);
  });

  it('disputes are listed, resolved by linking a candidate (not another person) or creating one, once', async () => {
    const disputes = new DisputeStore(pipeline.deps().tables);
    const [userA, userB] = [randomUUID(), randomUUID()];
    const [personX, personY] = [randomUUID(), randomUUID()];
    for (const [id, createdAt] of [
      [userA, '2026-01-01T00:00:00.000Z'],
      [userB, '2026-01-02T00:00:00.000Z'],
    ] as const) {
      await disputes.save(tenantId, {
        id,
        candidates: [personX, personY],
        emails: ['pat@contoso.com'],
        createdAt,
        runId: 'run-1',
        state: 'open',
        resolution: null,
      });
    }
    const path = `connections/${tenantId}/disputes`;
    type DisputesBody = { disputes: { id: string; state: string; candidates: string[] }[] };
    const listed = await api<DisputesBody>('GET', path);
    expect(listed.status).toBe(200);
    expect(listed.body.disputes.map((d) => d.id)).toEqual([userB, userA]);
    expect(listed.body.disputes[0]!.candidates).toEqual([personX, personY]);

    const before = await settingsRuns();
    const stranger = await api<IssuesBody>('POST', `${path}/${userA}`, {
      action: 'link',
      personId: randomUUID(),
    });
    expect(stranger.status).toBe(400);
    expect(stranger.body.issues.map((i) => i.path)).toEqual(['personId']);
    expect((await api<IssuesBody>('POST', `${path}/${userA}`, { action: 'merge' })).status).toBe(400);

    const linked = await api<{ state: string; resolution: { action: string; personId: string } }>(
      'POST',
      `${path}/${userA}`,
      { action: 'link', personId: personY },
    );
    expect(linked.status).toBe(200);
    expect(linked.body).toMatchObject({
      state: 'resolved',
      resolution: { action: 'link', personId: personY },
    });
    const row = await pipeline.deps().tables.get(TABLES.disputes, tenantId, userA);
    expect(row).toMatchObject({ state: 'resolved' });
    expect(JSON.parse(String(row!.resolution))).toMatchObject({ action: 'link', personId: personY });

    expect((await api('POST', `${path}/${userA}`, { action: 'create' })).status).toBe(409);
    expect((await api('POST', `${path}/${randomUUID()}`, { action: 'create' })).status).toBe(404);
    const created = await api<{ resolution: { action: string } }>('POST', `${path}/${userB}`, {
      action: 'create',
    });
    expect(created.status).toBe(200);
    expect(created.body.resolution.action).toBe('create');

    const open = await api<DisputesBody>('GET', `${path}?state=open`);
    expect(open.body.disputes).toEqual([]);
    await waitForSettingsRuns(before + 2);
  });
});
