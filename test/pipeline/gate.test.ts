/**
 * Issue 9: the gate holds. A settings mistake that would take most people out of the directory is
 * held (nothing destructive applied) until an admin approves or rejects it; review mode holds every
 * change of every run, and an approval of chosen people applies those, re-planned, never stale.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ConnectionSettings } from '../../src/domain/connection-settings.js';
import { personIdFor } from '../../src/domain/person-id.js';
import { expireHeldRuns } from '../../src/usecases/approve-held.js';
import type { RunSummary } from '../../src/usecases/describe-runs.js';
import { requestDueRounds } from '../../src/usecases/request-sync.js';
import { type ApiCall, apiClient } from '../api/api-client.js';
import { PipelineUnderTest } from './pipeline-harness.js';

describe('the gate', () => {
  let pipeline: PipelineUnderTest;
  let api: ApiCall;
  let tenantId: string;

  const statuses = async (): Promise<Map<string, string>> =>
    new Map([...(await pipeline.directory()).people].map(([id, p]) => [id, p.status]));
  const settingsNow = async (): Promise<ConnectionSettings> =>
    (await api<{ settings: ConnectionSettings }>('GET', `connections/${tenantId}/settings`)).body.settings;
  async function save(policy: Partial<ConnectionSettings['policy']>): Promise<RunSummary> {
    const afterRunKey = await pipeline.latestRunKey();
    const settings = await settingsNow();
    const saved = await api('PUT', `connections/${tenantId}/settings`, {
      ...settings,
      policy: { ...settings.policy, ...policy },
    });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    return pipeline.waitForNextRun(afterRunKey);
  }
  const runOf = async (runId: string): Promise<RunSummary> =>
    (await api<{ runs: RunSummary[] }>('GET', `connections/${tenantId}/runs?top=50`)).body.runs.find(
      (r) => r.runId === runId,
    )!;

  beforeAll(async () => {
    pipeline = await PipelineUnderTest.start({
      standin: { users: 300, seed: 57 },
      schedule: { kind: 'manual' },
    });
    api = apiClient(() => pipeline.env.host().httpBaseUrl, pipeline.env.functionKey);
    tenantId = pipeline.env.tenantId;
    expect((await pipeline.sync('initial')).state).toBe('completed');
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  it('a scope change that would remove most people is held: nobody changes until an admin approves, then exactly the held set leaves', async () => {
    const before = await statuses();
    const snapshot = pipeline.control.snapshot();
    const department = snapshot.groups.find((g) => g.displayName === 'sg-Sales') ?? snapshot.groups[1]!;
    const held = await save({
      scope: { groups: [department.id], filter: null, emailInclude: [], emailExclude: [] },
    });
    expect(held.state).toBe('held');
    expect(held.gate.decision).toBe('held');
    expect(held.gate.threshold).toMatch(/would leave the directory/);
    const leaving = (held.gate.heldCounts.removed ?? 0) + (held.gate.heldCounts.deactivated ?? 0);
    expect(leaving).toBeGreaterThan(0.5 * [...before.values()].filter((s) => s === 'created').length);
    expect(await statuses()).toEqual(before);

    // A run while it is held applies none of the held changes.
    const someone = [...before.keys()][0]!;
    pipeline.control.rename(someone, { displayName: 'Renamed While Held' });
    const next = await pipeline.sync();
    expect(next.state).toBe('completed');
    const during = await statuses();
    for (const [id, status] of before) if (id !== someone) expect(during.get(id)).toBe(status);

    const approved = await api<{ state: string; applied: Record<string, number>; stillHeld: number }>(
      'POST',
      `connections/${tenantId}/runs/${held.runId}/approve`,
      { by: 'admin@contoso.example' },
    );
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body.state).toBe('completed');
    expect(approved.body.stillHeld).toBe(0);
    expect((approved.body.applied.removed ?? 0) + (approved.body.applied.deactivated ?? 0)).toBe(leaving);
    const after = await statuses();
    const left = [...after].filter(([id, s]) => s === 'removed' && before.get(id) !== 'removed');
    expect(left.length).toBe(leaving);
    pipeline.rules = { scopeGroups: [department.id] };
    pipeline.recordRound(pipeline.control.snapshot());
    expect(await pipeline.differences()).toEqual([]);
    const run = await runOf(held.runId);
    expect(run.gate.approvedBy).toBe('admin@contoso.example');
    expect(run.gate.approvedAt).not.toBeNull();
  });

  it('a rejection applies none of the held changes, and the run says who rejected it', async () => {
    const before = await statuses();
    const held = await save({
      scope: { groups: [], filter: null, emailInclude: ['no-such-domain.example'], emailExclude: [] },
    });
    expect(held.state).toBe('held');
    const rejected = await api('POST', `connections/${tenantId}/runs/${held.runId}/reject`, {
      by: 'careful admin',
    });
    expect(rejected.status).toBe(200);
    expect(await statuses()).toEqual(before);
    const run = await runOf(held.runId);
    expect(run.state).toBe('rejected');
    expect(run.gate.rejectedBy).toBe('careful admin');
    expect((await api('POST', `connections/${tenantId}/runs/${held.runId}/approve`, {})).status).toBe(409);
  });

  it('review mode holds every change of a round; approving 3 chosen people applies exactly those, re-planned after the mirror moved', async () => {
    // Back to everyone in scope, in review mode (the re-projection itself is held: approve it all).
    const reproject = await save({
      scope: { groups: [], filter: null, emailInclude: [], emailExclude: [] },
      gate: { maxDeletions: 500, maxShare: 0.2, minChangesForShare: 10, review: true, heldLifetimeDays: 7 },
    });
    if (reproject.state === 'held') {
      expect((await api('POST', `connections/${tenantId}/runs/${reproject.runId}/approve`, {})).status).toBe(
        200,
      );
    }
    const before = await pipeline.directory();
    const inDirectory = [...before.people].filter(([, p]) => p.status === 'created').map(([id]) => id);
    const [renamedA, renamedB, disabledA, disabledB] = inDirectory;
    const hired = pipeline.control.hire({ displayName: 'Review Hire', givenName: 'Review', surname: 'Hire' });
    pipeline.control.rename(renamedA!, { displayName: 'Review Rename A' });
    pipeline.control.rename(renamedB!, { displayName: 'Review Rename B' });
    pipeline.control.disable(disabledA!);
    pipeline.control.disable(disabledB!);
    const round = await pipeline.sync();
    expect(round.state).toBe('held');
    expect(round.gate.heldCounts).toMatchObject({ created: 1, updated: 2 });
    const held = await pipeline.directory();
    expect(held.people.has(hired.id)).toBe(false);
    expect(held.people.get(renamedA!)?.displayName).toBe(before.people.get(renamedA!)?.displayName);
    expect(held.people.get(disabledA!)?.status).toBe('created');

    // The mirror moves for one chosen person before the approval: the approval applies the new plan.
    pipeline.control.rename(renamedA!, { displayName: 'Review Rename A, again' });
    const moved = await pipeline.sync();
    expect(moved.state).toBe('held');
    const people = [
      before.people.get(renamedA!)!.personId,
      before.people.get(disabledA!)!.personId,
      personIdFor(tenantId, hired.id),
    ];
    const approval = await api<{ stillHeld: number }>(
      'POST',
      `connections/${tenantId}/runs/${round.runId}/approve`,
      {
        people,
      },
    );
    expect(approval.status, JSON.stringify(approval.body)).toBe(200);
    expect(approval.body.stillHeld).toBeGreaterThan(0);
    const after = await pipeline.directory();
    expect(after.people.get(renamedA!)?.displayName).toBe('Review Rename A, again');
    expect(after.people.get(disabledA!)?.status).toBe('removed');
    expect(after.people.get(hired.id)?.status).toBe('created');
    expect(after.people.get(renamedB!)?.displayName).toBe(before.people.get(renamedB!)?.displayName);
    expect(after.people.get(disabledB!)?.status).toBe('created');
    expect((await runOf(round.runId)).state).toBe('held');
  });

  it('held changes never expire silently: past the lifetime the run says expired, and the next scheduler tick re-projects', async () => {
    const held = await save({
      scope: { groups: [], filter: null, emailInclude: ['no-such-domain.example'], emailExclude: [] },
      gate: { maxDeletions: 500, maxShare: 0.2, minChangesForShare: 10, review: false, heldLifetimeDays: 7 },
    });
    expect(held.state).toBe('held');
    const deps = pipeline.deps();
    const sixDaysLater = { ...deps, now: () => new Date(Date.now() + 6 * 86_400_000) };
    expect(await expireHeldRuns(sixDaysLater, tenantId, 7)).toBe(0);
    const afterRunKey = await pipeline.latestRunKey();
    const eightDaysLater = { ...deps, now: () => new Date(Date.now() + 8 * 86_400_000) };
    await requestDueRounds(eightDaysLater);
    expect((await runOf(held.runId)).state).toBe('expired');
    const replanned = await pipeline.waitForNextRun(afterRunKey);
    expect(replanned.trigger).toBe('settings');
  });
});
