/**
 * Issue 9, point 3: a settings preview is the diff a save would apply, planned from the mirror alone.
 * On a stand-in tenant (3,000 users in `npm test`, to keep it quick; `PREVIEW_USERS=20000 npx vitest
 * run test/pipeline/settings-preview.test.ts` runs the same test on 20,000, and `npm run bench` times
 * it on any size): after the initial sync, proposed settings that scope people to a few
 * department groups and map a custom property are previewed with 0 Graph requests, the counts per
 * kind and the samples equal the oracle's, and saving the same settings applies exactly those counts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { SnapshotUser } from '../../local/standin/index.js';
import type { ConnectionSettings } from '../../src/domain/connection-settings.js';
import {
  PREVIEW_KINDS,
  type PreviewKind,
  type SettingsPreview,
} from '../../src/usecases/preview-settings.js';
import { type ApiCall, apiClient } from '../api/api-client.js';
import { expectedDirectory, type ExpectedPerson, type OracleRules } from './directory-oracle.js';
import { PipelineUnderTest } from './pipeline-harness.js';

const USERS = Number(process.env.PREVIEW_USERS ?? 3000);

const FIELDS = [
  'displayName',
  'givenName',
  'surname',
  'email',
  'jobTitle',
  'department',
  'officeLocation',
  'employeeId',
  'hireDate',
] as const;

const inDirectory = (p: ExpectedPerson | undefined): boolean =>
  p !== undefined && p.status !== 'removed' && p.status !== 'deactivated';

/** What the oracle says changes for each user between two expected directories (by change kind). */
function oracleDiff(
  before: ReadonlyMap<string, ExpectedPerson>,
  after: ReadonlyMap<string, ExpectedPerson>,
): Map<string, PreviewKind> {
  const kinds = new Map<string, PreviewKind>();
  for (const [id, next] of after) {
    const previous = before.get(id);
    if (!previous) kinds.set(id, 'created');
    else if (inDirectory(previous) && !inDirectory(next))
      kinds.set(id, next.status === 'deactivated' ? 'deactivated' : 'removed');
    else if (!inDirectory(previous) && inDirectory(next)) kinds.set(id, 'reactivated');
    else {
      const changed =
        FIELDS.some((f) => previous[f] !== next[f]) ||
        JSON.stringify(previous.custom?.costCenter ?? null) !==
          JSON.stringify(next.custom?.costCenter ?? null);
      kinds.set(id, changed ? 'updated' : 'unchanged');
    }
  }
  return kinds;
}

describe('settings preview', () => {
  let pipeline: PipelineUnderTest;
  let api: ApiCall;
  let tenantId: string;
  let proposed: ConnectionSettings;
  let rules: OracleRules;
  let preview: SettingsPreview;
  let expectedKinds: Map<string, PreviewKind>;
  let after: ReadonlyMap<string, ExpectedPerson>;

  beforeAll(async () => {
    pipeline = await PipelineUnderTest.start({
      standin: { users: USERS, seed: 93 },
      // A large tenant flushes as the product does by default (the tests' 2 pages make thousands of chunks).
      ...(USERS > 5_000 ? { settings: { SYNC_FLUSH_EVERY_PAGES: '25' } } : {}),
    });
    api = apiClient(() => pipeline.env.host().httpBaseUrl, pipeline.env.functionKey);
    tenantId = pipeline.env.tenantId;
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  it('previews a scope and mapping change from the mirror alone (0 Graph requests): counts and samples equal the oracle', async () => {
    const initial = await pipeline.sync('initial');
    expect(initial.state).toBe('completed');
    expect(await pipeline.differences()).toEqual([]);
    expect((await api('PUT', 'custom-properties', [{ name: 'costCenter', type: 'string' }])).status).toBe(
      200,
    );

    // Scope: three department groups, so everyone of the other departments leaves the directory.
    const snapshot = pipeline.control.snapshot();
    const scopeGroups = snapshot.groups
      .filter((g) => typeof g.displayName === 'string' && g.displayName.startsWith('sg-'))
      .slice(0, 3)
      .map((g) => g.id);
    expect(scopeGroups).toHaveLength(3);
    const { settings } = (
      await api<{ settings: ConnectionSettings }>('GET', `connections/${tenantId}/settings`)
    ).body;
    proposed = {
      ...settings,
      policy: {
        ...settings.policy,
        scope: { ...settings.policy.scope, groups: scopeGroups },
        mappings: [
          {
            source: 'onPremisesExtensionAttributes.extensionAttribute1',
            target: { customProperty: 'costCenter' },
          },
        ],
        // The deletion guard would hold this save for approval; here it is let through, to compare.
        gate: { ...settings.policy.gate, maxDeletions: 1_000_000, maxShare: 1 },
      },
    } as ConnectionSettings;
    const text = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);
    rules = {
      scopeGroups,
      custom: {
        costCenter: (u: SnapshotUser) =>
          text(
            (u.onPremisesExtensionAttributes as Record<string, unknown> | null | undefined)
              ?.extensionAttribute1,
          ),
      },
    };

    pipeline.control.resetCounters();
    const started = Date.now();
    const response = await api<SettingsPreview>('POST', `connections/${tenantId}/settings/preview`, proposed);
    const seconds = (Date.now() - started) / 1000;
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    preview = response.body;
    process.stdout.write(`preview of ${USERS} users: ${seconds.toFixed(2)} s\n`);

    // No directory read (a photo pass after the first full run may still call its own routes).
    const counters = pipeline.control.counters();
    const directoryReads = Object.entries(counters.requestsByRoute).filter(
      ([route]) => /delta|\/users|\/groups/.test(route) && !/photo/.test(route),
    );
    expect(directoryReads, JSON.stringify(counters.requestsByRoute)).toEqual([]);

    // The oracle before and after the same settings, over the same snapshot.
    const last = pipeline.rounds[pipeline.rounds.length - 1]!;
    const before = expectedDirectory(pipeline.rounds, pipeline.rulesOfRounds).people;
    after = expectedDirectory([...pipeline.rounds, last], [...pipeline.rulesOfRounds, rules]).people;
    expectedKinds = oracleDiff(before, after);
    const expectedCounts = Object.fromEntries(PREVIEW_KINDS.map((kind) => [kind, 0])) as Record<
      PreviewKind,
      number
    >;
    for (const kind of expectedKinds.values()) expectedCounts[kind] += 1;
    expect(preview.counts).toEqual({
      ...expectedCounts,
      // Users the oracle leaves out as invalid are failed again: the same users as the sync's.
      failed: preview.counts.failed,
    });
    expect(preview.counts.failed).toBeLessThanOrEqual(initial.counts.failed ?? 0);
    expect(preview.counts.removed).toBeGreaterThan(USERS / 5);
    expect(preview.counts.updated).toBeGreaterThan(10);
    expect(preview.usersPlanned).toBe(snapshot.users.length);
    expect(preview.notes.join(' ')).toMatch(/managers rule/);

    // Samples: up to 20 of each kind, each the oracle's kind for that user, with its rule and changes.
    for (const kind of PREVIEW_KINDS) {
      const samples = preview.samples[kind] ?? [];
      expect(samples.length).toBe(kind === 'unchanged' ? 0 : Math.min(20, preview.counts[kind]));
      for (const sample of samples) {
        expect(sample.rule).not.toBe('');
        if (kind === 'failed') continue;
        expect(expectedKinds.get(sample.userId), sample.userId).toBe(kind);
        expect(sample.displayName).toBe(after.get(sample.userId)!.displayName);
      }
    }
    for (const sample of preview.samples.removed!) {
      expect(sample.rule).toMatch(/scope/);
      expect(sample.changes?.[0]).toEqual({ field: 'status', from: 'created', to: 'removed' });
    }
    for (const sample of preview.samples.updated!) {
      expect(sample.rule).toMatch(/mapping/);
      expect(sample.changes).toContainEqual({
        field: 'custom.costCenter',
        from: null,
        to: after.get(sample.userId)!.custom!.costCenter,
      });
    }
    // The gate would let it through (its thresholds raised); under the default ones it would hold it.
    const inDirectoryBefore = [...before.values()].filter(inDirectory).length;
    expect(preview.gate).toEqual({
      kind: 'pass',
      destructive: preview.counts.removed,
      directorySize: inDirectoryBefore,
    });
    const guarded = await api<SettingsPreview>('POST', `connections/${tenantId}/settings/preview`, {
      ...proposed,
      policy: { ...proposed.policy, gate: settings.policy.gate },
    });
    expect(guarded.body.counts).toEqual(preview.counts);
    expect(guarded.body.gate).toMatchObject({ kind: 'hold', scope: 'guard' });
    expect(guarded.body.gate).toHaveProperty('threshold', expect.stringMatching(/would leave the directory/));
    // Group sync is unchanged: no team is created, archived or brought back.
    expect(preview.teams.counts).toEqual({ created: 0, archived: 0, reactivated: 0 });
    // Nothing was saved or started.
    const current = await api<{ version: number }>('GET', `connections/${tenantId}/settings`);
    expect(current.body.version).toBe(settings.version);
    expect((await pipeline.directory()).people.size).toBe(before.size);
    expect(await pipeline.differences()).toEqual([]);
  });

  it('saving the previewed settings applies exactly the previewed counts, equal to the oracle', async () => {
    const afterRunKey = await pipeline.latestRunKey();
    pipeline.control.resetCounters();
    const saved = await api('PUT', `connections/${tenantId}/settings`, proposed);
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    const run = await pipeline.waitForNextRun(afterRunKey);
    expect(run.trigger).toBe('settings');
    expect(run.state).toBe('completed');
    expect(
      Object.fromEntries(PREVIEW_KINDS.map((kind) => [kind, run.counts[kind] ?? 0])),
      `recoveries ${run.recoveries}: ${run.lastRecovery ?? ''}`,
    ).toEqual(preview.counts);
    pipeline.rules = rules;
    pipeline.recordRound(pipeline.rounds[pipeline.rounds.length - 1]!);
    expect(await pipeline.differences()).toEqual([]);
    // The sampled people are as the preview said.
    const directory = await pipeline.directory();
    for (const sample of [...preview.samples.removed!, ...preview.samples.updated!]) {
      expect(directory.people.get(sample.userId)?.status).toBe(after.get(sample.userId)!.status);
    }
  });

  it('refuses proposed settings a save would refuse (400 with field paths), and unknown connections (404)', async () => {
    const missingGroup = '00000000-0000-4000-8000-000000000001';
    const refused = await api<{ issues: { path: string }[] }>(
      'POST',
      `connections/${tenantId}/settings/preview`,
      {
        ...proposed,
        policy: { ...proposed.policy, scope: { ...proposed.policy.scope, groups: [missingGroup] } },
      },
    );
    expect(refused.status).toBe(400);
    expect(refused.body.issues.map((i) => i.path)).toEqual(['policy.scope.groups.0']);
    const filter = await api<{ issues: { path: string; position?: number }[] }>(
      'POST',
      `connections/${tenantId}/settings/preview`,
      {
        ...proposed,
        policy: { ...proposed.policy, scope: { ...proposed.policy.scope, filter: 'jobTitle eq' } },
      },
    );
    expect(filter.status).toBe(400);
    expect(filter.body.issues[0]?.path).toBe('policy.scope.filter');
    const malformed = await api<{ issues: { path: string }[] }>(
      'POST',
      `connections/${tenantId}/settings/preview`,
      { ...proposed, policy: { ...proposed.policy, mergeStrategy: 'whoever-shouts' } },
    );
    expect(malformed.status).toBe(400);
    expect(malformed.body.issues.map((i) => i.path)).toContain('policy.mergeStrategy');
    const other = '11111111-2222-4333-8444-555555555555';
    const unknown = await api('POST', `connections/${other}/settings/preview`, {
      ...proposed,
      tenantId: other,
    });
    expect(unknown.status).toBe(404);
  });
});
