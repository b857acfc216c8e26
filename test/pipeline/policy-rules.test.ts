/**
 * Issue 8: the whole pipeline under non-default rules (scope groups with nesting, a `$filter`, email
 * rules, app-wins with the app's edits, custom mappings, team mapping), against the oracle: a settings
 * change re-projects from the mirror with no Graph request; then full, incremental, shuffled-delivery
 * and resumed rounds stay equal to the oracle under those rules.
 */
import { QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { SnapshotUser } from '../../local/standin/index.js';
import { QUEUES } from '../../src/adapters/storage/storage-names.js';
import type { ConnectionSettings } from '../../src/domain/connection-settings.js';
import { fetchRound } from '../../src/usecases/fetch-round.js';
import type { SyncRequest } from '../../src/usecases/messages.js';
import { type ApiCall, apiClient } from '../api/api-client.js';
import type { OracleRules } from './directory-oracle.js';
import { PipelineUnderTest } from './pipeline-harness.js';
import { drainQueue, interceptedSource, quiet, shuffled } from './pipeline-probes.js';
import { mutateTenant } from './tenant-mutations.js';

class SimulatedCrash extends Error {}

describe('the pipeline under non-default rules', () => {
  let pipeline: PipelineUnderTest;
  let api: ApiCall;
  let tenantId: string;
  let changes: QueueClient;
  let rules: OracleRules;
  const appEdits = new Map<string, Record<string, string>>();
  const appStatus = new Map<string, 'invited' | 'active'>();

  const request = (trigger: SyncRequest['trigger'], full = false): SyncRequest => ({
    type: 'sync-request',
    tenantId,
    trigger,
    full,
    requestedAt: new Date().toISOString(),
  });
  const personOf = async (objectId: string): Promise<string> =>
    (await pipeline.directory()).people.get(objectId)!.personId;

  beforeAll(async () => {
    pipeline = await PipelineUnderTest.start({ standin: { users: 600, seed: 44 } });
    api = apiClient(() => pipeline.env.host().httpBaseUrl, pipeline.env.functionKey);
    tenantId = pipeline.env.tenantId;
    changes = new QueueClient(pipeline.env.azurite.connectionString, QUEUES.directoryChanges);
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  it('saving settings re-projects everyone from the mirror with 0 Graph requests, equal to the oracle under the new rules', async () => {
    const initial = await pipeline.sync('initial');
    expect(initial.state).toBe('completed');
    expect(await pipeline.differences()).toEqual([]);

    // Rules on real groups of the tenant: the scope is one department's group with another
    // department's group nested in it (nested after the first sync: the next round brings it).
    const snapshot = pipeline.control.snapshot();
    const [scope, nested, mapped] = snapshot.groups.filter(
      (g) => typeof g.displayName === 'string' && g.displayName.startsWith('sg-'),
    );
    pipeline.control.nestGroup(scope!.id, nested!.id);
    expect((await pipeline.sync()).state).toBe('completed');

    const excluded = snapshot.users.find(
      (u) => scope!.memberIds.includes(u.id) && typeof u.mail === 'string',
    )!;
    const team = await api<{ teamId: string }>('POST', 'teams', { name: 'Leadership circle' });
    expect(team.status).toBe(201);
    expect(
      (
        await api('PUT', 'custom-properties', [
          { name: 'company', type: 'string' },
          { name: 'costCenter', type: 'string' },
        ])
      ).status,
    ).toBe(200);
    const { settings } = (
      await api<{ settings: ConnectionSettings }>('GET', `connections/${tenantId}/settings`)
    ).body;
    const localPart = (excluded.mail as string).split('@')[0]!;
    const policy = {
      ...settings.policy,
      scope: {
        groups: [scope!.id],
        filter: "not(startswith(jobTitle,'Vice President'))",
        emailInclude: [],
        emailExclude: [`${localPart}@`],
      },
      mergeStrategy: 'app-wins',
      // The scope removes most people: the deletion guard (tested in gate.test.ts) is opened wide here.
      gate: { ...settings.policy.gate, maxDeletions: 1_000_000, maxShare: 1 },
      mappings: [
        { source: 'companyName', target: { customProperty: 'company' } },
        {
          source: 'onPremisesExtensionAttributes.extensionAttribute1',
          target: { customProperty: 'costCenter' },
        },
      ],
      teams: {
        groupSync: { mode: 'all', groups: [], members: 'direct' },
        mappings: [{ groupId: mapped!.id, teamId: team.body.teamId, members: 'transitive' }],
      },
    };
    const text = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);
    const extension = (u: SnapshotUser, n: string): unknown =>
      (u.onPremisesExtensionAttributes as Record<string, unknown> | null | undefined)?.[n] ?? null;
    rules = {
      scopeGroups: [scope!.id],
      filter: (u) =>
        !(typeof u.jobTitle === 'string' && u.jobTitle.toLowerCase().startsWith('vice president')),
      emailExclude: [`${localPart}@`],
      custom: {
        company: (u) => text(u.companyName),
        costCenter: (u) => text(extension(u, 'extensionAttribute1')),
      },
      teamMappings: [{ groupId: mapped!.id, team: 'Leadership circle', members: 'transitive' }],
      appEdits,
      appStatus,
    };

    const afterRunKey = await pipeline.latestRunKey();
    pipeline.control.resetCounters();
    const saved = await api('PUT', `connections/${tenantId}/settings`, { ...settings, policy });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    const reprojected = await pipeline.waitForNextRun(afterRunKey);
    expect(reprojected.trigger).toBe('settings');
    expect(reprojected.state).toBe('completed');
    // No directory read at all (a photo pass after the first full run may still call its own routes).
    const counters = pipeline.control.counters();
    const directoryReads = Object.entries(counters.requestsByRoute).filter(
      ([route]) => /delta|\/users|\/groups/.test(route) && !/photo/.test(route),
    );
    expect(directoryReads, JSON.stringify(counters.requestsByRoute)).toEqual([]);
    // The re-projection reads the tenant as the last round did, under the new rules.
    pipeline.rules = rules;
    pipeline.recordRound(pipeline.rounds[pipeline.rounds.length - 1]!);
    expect(await pipeline.differences()).toEqual([]);
    const directory = await pipeline.directory();
    expect([...directory.people.values()].filter((p) => p.status === 'created').length).toBeGreaterThan(10);
    expect([...directory.people.values()].filter((p) => p.status === 'removed').length).toBeGreaterThan(10);
  });

  it('the app edits fields and statuses; under app-wins an incremental round after mutations keeps them and equals the oracle', async () => {
    const directory = await pipeline.directory();
    const inDirectory = [...directory.people.entries()].filter(([, p]) => p.status === 'created');
    const [edited, activated, invited] = inDirectory.slice(0, 3).map(([id]) => id);
    expect(
      (await api('PATCH', `people/${await personOf(edited!)}`, { jobTitle: 'Chief Listener' })).status,
    ).toBe(200);
    appEdits.set(edited!, { jobTitle: 'Chief Listener' });
    expect((await api('PATCH', `people/${await personOf(activated!)}`, { status: 'active' })).status).toBe(
      200,
    );
    appStatus.set(activated!, 'active');
    expect((await api('PATCH', `people/${await personOf(invited!)}`, { status: 'invited' })).status).toBe(
      200,
    );
    appStatus.set(invited!, 'invited');

    // Entra changes the edited field too (a conflict the app wins), and both others leave.
    pipeline.control.updateUser(edited!, { jobTitle: 'Entra Title' });
    pipeline.control.disable(activated!);
    pipeline.control.disable(invited!);
    mutateTenant(pipeline.control, 61, 40);
    const run = await pipeline.sync();
    expect(run.state).toBe('completed');
    expect(await pipeline.differences()).toEqual([]);
    const after = await pipeline.directory();
    expect(after.people.get(edited!)?.jobTitle).toBe('Chief Listener');
    expect(after.people.get(activated!)?.status).toBe('deactivated');
    expect(after.people.get(invited!)?.status).toBe('removed');
  });

  it('every change message delivered twice in shuffled order gives the tables of the oracle', async () => {
    await pipeline.env.host().stop();
    mutateTenant(pipeline.control, 71, 30);
    const afterRunKey = await pipeline.latestRunKey();
    pipeline.recordRound(pipeline.control.snapshot());
    expect((await fetchRound(pipeline.deps(), request('manual'), quiet)).kind).toBe('completed');
    const bodies = await drainQueue(changes);
    for (const body of shuffled([...bodies, ...bodies], 5)) await changes.sendMessage(body);
    await pipeline.env.startHost();
    expect((await pipeline.waitForNextRun(afterRunKey)).state).toBe('completed');
    expect(await pipeline.differences()).toEqual([]);
  });

  it('a full round stopped after 2 pages resumes from its checkpoint and ends equal to the oracle', async () => {
    await pipeline.env.host().stop();
    mutateTenant(pipeline.control, 81, 20);
    const afterRunKey = await pipeline.latestRunKey();
    pipeline.recordRound(pipeline.control.snapshot());
    const crashing = interceptedSource(pipeline.deps(), (page) => {
      if (page > 2) throw new SimulatedCrash('fetcher died after 2 pages');
    });
    await expect(fetchRound(crashing, request('manual', true), quiet)).rejects.toThrow(SimulatedCrash);
    expect((await fetchRound(pipeline.deps(), request('manual', true), quiet)).kind).toBe('completed');
    await pipeline.env.startHost();
    const run = await pipeline.waitForNextRun(afterRunKey);
    expect(run.state).toBe('completed');
    expect(run.full).toBe(true);
    expect(await pipeline.differences()).toEqual([]);
  });
});
