/**
 * Issue 8, one scenario per numbered point, through the whole pipeline (Azurite + the stand-in + the
 * local host): statuses (4), matching (5), merge strategies and write rules (6), mapping with
 * coercion (7), teams (8), managers (9) and history (11). Each scenario drives the stand-in and the
 * HTTP API as an admin and the app would, and asserts on what the API, the tables and the run
 * summaries show.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { SnapshotUser } from '../../local/standin/index.js';
import type { ConnectionSettings } from '../../src/domain/connection-settings.js';
import { personIdFor, teamIdFor } from '../../src/domain/person-id.js';
import type { PolicyInput } from '../../src/domain/policy.js';
import type { RunSummary } from '../../src/usecases/describe-runs.js';
import { type ApiCall, apiClient } from '../api/api-client.js';
import { PipelineUnderTest } from './pipeline-harness.js';

/** A person as GET /api/people/{personId} answers. */
interface PersonBody {
  personId: string;
  origin: 'entra' | 'app';
  sourceObjectId: string | null;
  formerObjectId?: string | null;
  status: string;
  displayName: string | null;
  email: string | null;
  jobTitle: string | null;
  department: string | null;
  officeLocation: string | null;
  managerId: string | null;
  managerProblem: string | null;
  custom: Record<string, unknown>;
  teams: string[];
}

interface TeamBody {
  teamId: string;
  name: string;
  origin: string;
  sourceGroupId: string | null;
  status: string;
}

interface HistoryBody {
  history: { at: string; runId: string; kind: string; rule: string }[];
}

interface DisputeBody {
  id: string;
  candidates: string[];
  state: string;
}

describe('the admin rules of issue 8, one scenario per point, through the whole pipeline', () => {
  let pipeline: PipelineUnderTest;
  let api: ApiCall;
  let tenantId: string;
  /** The cast: users hired before the first round, each for one scenario. */
  const cast = new Map<string, SnapshotUser>();
  const idOf = (name: string): string => cast.get(name)!.id;

  const hire = (name: string, props: Record<string, string | null> = {}, managerOf?: string): SnapshotUser =>
    pipeline.control.hire(
      { givenName: name, surname: 'Scenario', ...props },
      managerOf ? { managerId: idOf(managerOf) } : {},
    );
  const person = async (personId: string): Promise<PersonBody> => {
    const answer = await api<PersonBody>('GET', `people/${personId}`);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body;
  };
  /** The person sync made for a cast member (its id is derived from the user's object id). */
  const personOf = (name: string): Promise<PersonBody> => person(personIdFor(tenantId, idOf(name)));
  const patch = async (personId: string, body: Record<string, unknown>): Promise<void> => {
    const answer = await api('PATCH', `people/${personId}`, body);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  };
  const errorsOf = (run: RunSummary, objectId: string) => run.errors.filter((e) => e.objectId === objectId);
  const runRow = async (run: RunSummary) =>
    (await pipeline.deps().runs.list(tenantId, 20)).find((row) => row.runId === run.runId)!;

  /** Saves the policy (the defaults plus `policy`) and waits for the re-projection it starts. */
  async function savePolicy(policy: PolicyInput): Promise<RunSummary> {
    const { settings } = (
      await api<{ settings: ConnectionSettings }>('GET', `connections/${tenantId}/settings`)
    ).body;
    const after = await pipeline.latestRunKey();
    const saved = await api('PUT', `connections/${tenantId}/settings`, { ...settings, policy });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    const run = await pipeline.waitForNextRun(after);
    expect(run.trigger).toBe('settings');
    expect(run.graphRequests).toBe(0);
    return run;
  }

  beforeAll(async () => {
    pipeline = await PipelineUnderTest.start({
      standin: { users: 200, seed: 88 },
      schedule: { kind: 'manual' },
    });
    api = apiClient(() => pipeline.env.host().httpBaseUrl, pipeline.env.functionKey);
    tenantId = pipeline.env.tenantId;
    // point 4
    for (const name of ['Activa', 'Createda', 'Softa', 'Harda']) cast.set(name, hire(name));
    // point 6
    cast.set('Skipper', hire('Skipper', { jobTitle: 'Skipper Old', department: 'Skipper Dept' }));
    cast.set('Entrawin', hire('Entrawin', { jobTitle: 'Entrawin Old' }));
    cast.set('Oncreate', hire('Oncreate', { jobTitle: 'Oncreate Old' }));
    cast.set('Emptyoffice', hire('Emptyoffice', { officeLocation: null }));
    cast.set('Fulloffice', hire('Fulloffice', { officeLocation: 'Old Office' }));
    // point 7
    cast.set('Numeric', hire('Numeric'));
    cast.set('Wordy', hire('Wordy', { jobTitle: 'Wordy Old' }));
    // point 9
    cast.set('Boss', hire('Boss'));
    cast.set('Report', hire('Report', {}, 'Boss'));
    cast.set('Gone', hire('Gone'));
    cast.set('Orphan', hire('Orphan', {}, 'Gone'));
    cast.set('Cyclea', hire('Cyclea'));
    cast.set('Cycleb', hire('Cycleb', {}, 'Cyclea'));
    pipeline.control.setManager(idOf('Cyclea'), idOf('Cycleb'));
    // point 11
    cast.set('Scoped', hire('Scoped'));
    cast.set('Stayer', hire('Stayer'));
    const initial = await pipeline.sync('initial');
    expect(initial.state).toBe('completed');
    expect(await pipeline.differences()).toEqual([]);
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  it('point 4: an active leaver is deactivated and active again on return; a created one removed and created again; a restored user is the same person; a hard-deleted user is a leaver, unlinked', async () => {
    await patch(personIdFor(tenantId, idOf('Activa')), { status: 'active' });
    await patch(personIdFor(tenantId, idOf('Harda')), { status: 'active' });
    pipeline.control.disable(idOf('Activa'));
    pipeline.control.disable(idOf('Createda'));
    pipeline.control.softDelete(idOf('Softa'));
    pipeline.control.hardDelete(idOf('Harda'));
    const out = await pipeline.sync();
    expect(out.state).toBe('completed');
    expect(out.counts.deactivated).toBe(2);
    expect(out.counts.removed).toBe(2);
    expect((await personOf('Activa')).status).toBe('deactivated');
    expect((await personOf('Createda')).status).toBe('removed');
    const softened = await personOf('Softa');
    expect(softened).toMatchObject({ status: 'removed', sourceObjectId: idOf('Softa') });
    const hard = await personOf('Harda');
    expect(hard).toMatchObject({
      status: 'deactivated',
      sourceObjectId: null,
      formerObjectId: idOf('Harda'),
    });

    pipeline.control.enable(idOf('Activa'));
    pipeline.control.enable(idOf('Createda'));
    pipeline.control.restore(idOf('Softa'));
    const back = await pipeline.sync();
    expect(back.state).toBe('completed');
    expect(back.counts.reactivated).toBe(3);
    expect((await personOf('Activa')).status).toBe('active');
    expect((await personOf('Createda')).status).toBe('created');
    const restored = await personOf('Softa');
    expect(restored).toMatchObject({
      personId: softened.personId,
      status: 'created',
      sourceObjectId: idOf('Softa'),
    });
    // One person per user: the restore landed on the same row, not a new one.
    const directory = await pipeline.directory();
    expect(directory.peopleRowsPerObject.get(idOf('Softa'))).toBe(1);
    expect((await personOf('Harda')).status).toBe('deactivated');
  });

  it('point 5: a person made by hand is linked to the user with its email; two candidates are a dispute an admin resolves; a rehire is linked to the old person', async () => {
    const domain = 'handmade.example.com';
    const x = `alex.byhand@${domain}`;
    const made = await api<PersonBody>('POST', 'people', { email: x, displayName: 'Alex By Hand' });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body).toMatchObject({ origin: 'app', sourceObjectId: null });
    const y = `sam.twice@${domain}`;
    const first = await api<PersonBody>('POST', 'people', { email: y, displayName: 'Sam One' });
    const second = await api<PersonBody>('POST', 'people', { email: y, displayName: 'Sam Two' });
    expect([first.status, second.status]).toEqual([201, 201]);

    const alex = pipeline.control.hire({ givenName: 'Alex', surname: 'Byhand', mail: x });
    const sam = pipeline.control.hire({ givenName: 'Sam', surname: 'Twice', mail: y });
    const round = await pipeline.sync();
    expect(round.state).toBe('completed');
    expect(round.counts.disputed).toBe(1);
    const linked = await person(made.body.personId);
    expect(linked).toMatchObject({ sourceObjectId: alex.id, status: 'created', displayName: 'Alex Byhand' });
    expect((await api('GET', `people/${personIdFor(tenantId, alex.id)}`)).status).toBe(404);
    expect((await pipeline.directory()).peopleRowsPerObject.get(alex.id)).toBe(1);
    // The disputed user has no person at all until an admin decides.
    expect((await pipeline.directory()).people.has(sam.id)).toBe(false);

    const disputes = await api<{ disputes: DisputeBody[] }>('GET', `connections/${tenantId}/disputes`);
    expect(disputes.status).toBe(200);
    const dispute = disputes.body.disputes.find((d) => d.id === sam.id)!;
    expect(dispute).toMatchObject({ state: 'open' });
    expect([...dispute.candidates].sort()).toEqual([first.body.personId, second.body.personId].sort());
    const after = await pipeline.latestRunKey();
    const resolved = await api('POST', `connections/${tenantId}/disputes/${sam.id}`, {
      action: 'link',
      personId: second.body.personId,
    });
    expect(resolved.status, JSON.stringify(resolved.body)).toBe(200);
    const reprojected = await pipeline.waitForNextRun(after);
    expect(reprojected.state).toBe('completed');
    expect((await person(second.body.personId)).sourceObjectId).toBe(sam.id);
    expect((await person(first.body.personId)).sourceObjectId).toBeNull();
    expect((await api('GET', `people/${personIdFor(tenantId, sam.id)}`)).status).toBe(404);

    // Rehire: the user is deleted for good, a new one comes with the same mail.
    pipeline.control.hardDelete(alex.id);
    const left = await pipeline.sync();
    expect(left.state).toBe('completed');
    expect(await person(made.body.personId)).toMatchObject({
      sourceObjectId: null,
      formerObjectId: alex.id,
      status: 'removed',
    });
    const rehired = pipeline.control.hire({ givenName: 'Alex', surname: 'Again', mail: x });
    const rehire = await pipeline.sync();
    expect(rehire.state).toBe('completed');
    expect(await person(made.body.personId)).toMatchObject({
      sourceObjectId: rehired.id,
      status: 'created',
      displayName: 'Alex Again',
    });
    expect((await api('GET', `people/${personIdFor(tenantId, rehired.id)}`)).status).toBe(404);
  });

  it('point 6: skip-conflicts reports a conflict with both values and keeps the person; entra-wins overwrites the app; on-create and if-empty write rules', async () => {
    const skipper = personIdFor(tenantId, idOf('Skipper'));
    expect((await savePolicy({ mergeStrategy: 'skip-conflicts' })).state).toBe('completed');
    await patch(skipper, { jobTitle: 'App Title' });
    pipeline.control.updateUser(idOf('Skipper'), { jobTitle: 'Entra Title', department: 'Entra Dept' });
    const conflicted = await pipeline.sync();
    expect(conflicted.state).toBe('completed-with-errors');
    expect(conflicted.counts.conflicted).toBe(1);
    const [conflict, ...more] = errorsOf(conflicted, idOf('Skipper'));
    expect(more).toEqual([]);
    expect(conflict!.category).toBe('merge-conflict');
    expect(conflict!.message).toContain('jobTitle');
    expect(conflict!.message).toContain('"App Title"');
    expect(conflict!.message).toContain('"Entra Title"');
    // Not updated at all: neither the conflicting field nor Entra's other change.
    expect(await person(skipper)).toMatchObject({ jobTitle: 'App Title', department: 'Skipper Dept' });

    // entra-wins: the re-projection gives the skipped person Entra's values, and Entra's later
    // change overwrites another app edit.
    const entraWins = await savePolicy({ mergeStrategy: 'entra-wins' });
    expect(entraWins.state).toBe('completed');
    expect(await person(skipper)).toMatchObject({ jobTitle: 'Entra Title', department: 'Entra Dept' });
    const entrawin = personIdFor(tenantId, idOf('Entrawin'));
    await patch(entrawin, { jobTitle: 'App Entrawin' });
    expect((await person(entrawin)).jobTitle).toBe('App Entrawin');
    pipeline.control.updateUser(idOf('Entrawin'), { jobTitle: 'Entra Entrawin' });
    expect((await pipeline.sync()).state).toBe('completed');
    expect((await person(entrawin)).jobTitle).toBe('Entra Entrawin');

    // Write rules: jobTitle only on create, officeLocation only if empty.
    expect(
      (await savePolicy({ fieldWrites: { jobTitle: 'on-create', officeLocation: 'if-empty' } })).state,
    ).toBe('completed');
    pipeline.control.updateUser(idOf('Oncreate'), { jobTitle: 'Oncreate New' });
    pipeline.control.updateUser(idOf('Emptyoffice'), { officeLocation: 'Filled Office' });
    pipeline.control.updateUser(idOf('Fulloffice'), { officeLocation: 'New Office' });
    const newcomer = pipeline.control.hire({
      givenName: 'Newcomer',
      surname: 'Scenario',
      jobTitle: 'First Title',
    });
    expect((await pipeline.sync()).state).toBe('completed');
    expect((await personOf('Oncreate')).jobTitle).toBe('Oncreate Old');
    expect((await person(personIdFor(tenantId, newcomer.id))).jobTitle).toBe('First Title');
    expect((await personOf('Emptyoffice')).officeLocation).toBe('Filled Office');
    expect((await personOf('Fulloffice')).officeLocation).toBe('Old Office');
  });

  it('point 7: a custom mapping to a number property from a value that is not a number is invalid-data for that person and field, and the rest is applied', async () => {
    pipeline.control.setExtensionAttributes(idOf('Numeric'), {
      extensionAttribute12: '42',
      extensionAttribute13: 'CC-N',
    });
    pipeline.control.setExtensionAttributes(idOf('Wordy'), {
      extensionAttribute12: 'forty-two',
      extensionAttribute13: 'CC-W',
    });
    expect((await pipeline.sync()).state).toBe('completed');
    const defined = await api('PUT', 'custom-properties', [
      { name: 'badgeNumber', type: 'number' },
      { name: 'costCenter', type: 'string' },
    ]);
    expect(defined.status, JSON.stringify(defined.body)).toBe(200);
    const mapped = await savePolicy({
      mappings: [
        {
          source: 'onPremisesExtensionAttributes.extensionAttribute12',
          target: { customProperty: 'badgeNumber' },
        },
        {
          source: 'onPremisesExtensionAttributes.extensionAttribute13',
          target: { customProperty: 'costCenter' },
        },
      ],
    });
    expect(mapped.state).toBe('completed-with-errors');
    const invalid = errorsOf(mapped, idOf('Wordy'));
    expect(invalid.map((e) => e.category)).toEqual(['invalid-data']);
    expect(invalid[0]!.message).toContain('custom.badgeNumber');
    expect(invalid[0]!.message).toContain('forty-two');
    expect(errorsOf(mapped, idOf('Numeric'))).toEqual([]);
    expect((await personOf('Numeric')).custom).toEqual({ badgeNumber: 42, costCenter: 'CC-N' });
    expect((await personOf('Wordy')).custom).toEqual({ costCenter: 'CC-W' });

    // An incremental round: still invalid for that field, and Entra's other changes land.
    pipeline.control.updateUser(idOf('Wordy'), { jobTitle: 'Wordy New' });
    pipeline.control.setExtensionAttributes(idOf('Wordy'), { extensionAttribute13: 'CC-W2' });
    const round = await pipeline.sync();
    expect(round.state).toBe('completed-with-errors');
    expect(errorsOf(round, idOf('Wordy')).map((e) => e.category)).toEqual(['invalid-data']);
    expect(await personOf('Wordy')).toMatchObject({ jobTitle: 'Wordy New', custom: { costCenter: 'CC-W2' } });
  });

  it('point 8: selected group sync keeps only the chosen groups active with members; a team the app made survives every round; a deleted group’s team gets no members', async () => {
    const [a, b, c] = ['Teama', 'Teamb', 'Teamc'].map((name) => hire(name));
    const chosen = pipeline.control.createGroup({ displayName: 'Scenario chosen' }, [a!.id, b!.id]);
    const doomed = pipeline.control.createGroup({ displayName: 'Scenario doomed' }, [b!.id, c!.id]);
    const other = pipeline.control.createGroup({ displayName: 'Scenario other' }, [a!.id, c!.id]);
    expect((await pipeline.sync()).state).toBe('completed');
    const appTeam = await api<TeamBody>('POST', 'teams', { name: 'Made by the app' });
    expect(appTeam.status).toBe(201);
    const appTeamSurvives = async (): Promise<void> => {
      const { teams } = (await api<{ teams: TeamBody[] }>('GET', 'teams')).body;
      expect(teams.find((t) => t.teamId === appTeam.body.teamId)).toMatchObject({
        origin: 'app',
        status: 'active',
        name: 'Made by the app',
      });
    };

    const selected = await savePolicy({
      teams: { groupSync: { mode: 'selected', groups: [chosen.id, doomed.id] } },
    });
    expect(selected.state).toBe('completed');
    await appTeamSurvives();
    const { teams } = (await api<{ teams: TeamBody[] }>('GET', 'teams')).body;
    const synced = teams.filter((t) => t.origin === 'entra');
    expect(synced.length).toBeGreaterThan(3);
    for (const team of synced) {
      const wanted = team.sourceGroupId === chosen.id || team.sourceGroupId === doomed.id;
      expect(`${team.name}: ${team.status}`).toBe(`${team.name}: ${wanted ? 'active' : 'archived'}`);
    }
    const members = (await pipeline.directory()).teamMembers;
    const groupsWithMembers = new Set([...members].map((key) => key.split('|')[0]));
    expect([...groupsWithMembers].sort()).toEqual([chosen.id, doomed.id].sort());
    expect((await person(personIdFor(tenantId, a!.id))).teams).toEqual([teamIdFor(tenantId, chosen.id)]);
    expect([...(await person(personIdFor(tenantId, b!.id))).teams].sort()).toEqual(
      [teamIdFor(tenantId, chosen.id), teamIdFor(tenantId, doomed.id)].sort(),
    );

    pipeline.control.deleteGroup(doomed.id);
    pipeline.control.addMember(chosen.id, c!.id);
    pipeline.control.removeMember(other.id, a!.id);
    expect((await pipeline.sync()).state).toBe('completed');
    await appTeamSurvives();
    const after = (await api<{ teams: TeamBody[] }>('GET', 'teams')).body.teams;
    expect(after.find((t) => t.sourceGroupId === doomed.id)?.status).toBe('archived');
    expect(after.find((t) => t.sourceGroupId === chosen.id)?.status).toBe('active');
    const nowMembers = [...(await pipeline.directory()).teamMembers];
    expect(nowMembers.filter((key) => key.startsWith(`${doomed.id}|`))).toEqual([]);
    expect(nowMembers.filter((key) => key.startsWith(`${chosen.id}|`)).sort()).toEqual(
      [a!.id, b!.id, c!.id].map((id) => `${chosen.id}|${id}`).sort(),
    );
    expect((await person(personIdFor(tenantId, c!.id))).teams).toEqual([teamIdFor(tenantId, chosen.id)]);
    // And after a full reconciliation too.
    expect((await pipeline.sync('manual', true)).state).toBe('completed');
    await appTeamSurvives();
  });

  it('point 9: a disabled manager is manager-out-of-scope, a cycle is manager-cycle for both, a manager deleted for good is manager-missing; none is linked and the runs complete (warnings)', async () => {
    // The first round linked the report to its manager and found the cycle.
    expect(await personOf('Report')).toMatchObject({
      managerId: personIdFor(tenantId, idOf('Boss')),
      managerProblem: null,
    });
    expect(await personOf('Orphan')).toMatchObject({ managerId: personIdFor(tenantId, idOf('Gone')) });
    for (const name of ['Cyclea', 'Cycleb'])
      expect(await personOf(name)).toMatchObject({ managerId: null, managerProblem: 'manager-cycle' });
    const initialRun = (await pipeline.deps().runs.list(tenantId, 200)).at(-1)!;
    const initialErrors = await pipeline
      .deps()
      .runs.listErrors({ tenantId, runId: String(initialRun.runId) });
    for (const name of ['Cyclea', 'Cycleb']) {
      expect(initialErrors.filter((e) => e.objectId === idOf(name)).map((e) => e.category)).toEqual([
        'manager-cycle',
      ]);
    }
    expect(initialRun.state).toBe('completed');

    // A cycle made by an incremental round: reported for both, the run completes.
    const [x, y] = ['Loopx', 'Loopy'].map((name) => hire(name));
    pipeline.control.setManager(x!.id, y!.id);
    pipeline.control.setManager(y!.id, x!.id);
    // The manager leaves; the other manager is deleted for good while its report was in the recycle
    // bin, so the restored report names a manager Entra no longer has.
    pipeline.control.disable(idOf('Boss'));
    pipeline.control.softDelete(idOf('Orphan'));
    pipeline.control.hardDelete(idOf('Gone'));
    pipeline.control.restore(idOf('Orphan'));
    const run = await pipeline.sync();
    expect(run.state).toBe('completed');
    for (const id of [x!.id, y!.id]) {
      expect(errorsOf(run, id).map((e) => e.category)).toEqual(['manager-cycle']);
      expect(await person(personIdFor(tenantId, id))).toMatchObject({
        managerId: null,
        managerProblem: 'manager-cycle',
      });
    }
    expect(errorsOf(run, idOf('Report')).map((e) => e.category)).toEqual(['manager-out-of-scope']);
    expect(await personOf('Report')).toMatchObject({
      managerId: null,
      managerProblem: 'manager-out-of-scope',
    });
    expect(errorsOf(run, idOf('Orphan')).map((e) => e.category)).toEqual(['manager-missing']);
    expect(await personOf('Orphan')).toMatchObject({ managerId: null, managerProblem: 'manager-missing' });
    // Warnings on the run, not errors: the run completed.
    expect(Number((await runRow(run)).warnings)).toBe(4);

    // Through GET …/runs as well.
    const listed = await api<{ runs: RunSummary[] }>('GET', `connections/${tenantId}/runs?top=1`);
    expect(listed.status).toBe(200);
    expect(listed.body.runs[0]!.runId).toBe(run.runId);
    expect(new Set(listed.body.runs[0]!.errors.map((e) => e.category))).toEqual(
      new Set(['manager-cycle', 'manager-out-of-scope', 'manager-missing']),
    );
  });

  it('point 11: a user taken out of the scope group: the newest history entry of its person names the scope rule and the run that applied it', async () => {
    const scope = pipeline.control.createGroup({ displayName: 'Scenario scope' }, [
      idOf('Scoped'),
      idOf('Stayer'),
    ]);
    expect((await pipeline.sync()).state).toBe('completed');
    // Almost everyone leaves: the deletion guard holds it (issue 9) until an admin approves.
    const scoped = await savePolicy({ scope: { groups: [scope.id] } });
    expect(scoped.state).toBe('held');
    const approved = await api('POST', `connections/${tenantId}/runs/${scoped.runId}/approve`, {});
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect((await personOf('Scoped')).status).toBe('created');
    expect((await personOf('Stayer')).status).toBe('created');

    pipeline.control.removeMember(scope.id, idOf('Scoped'));
    const run = await pipeline.sync();
    expect(run.state).toBe('completed');
    expect(run.counts.removed).toBe(1);
    const personId = personIdFor(tenantId, idOf('Scoped'));
    expect((await person(personId)).status).toBe('removed');
    const { history } = (await api<HistoryBody>('GET', `people/${personId}/history`)).body;
    expect(history[0]).toMatchObject({ runId: run.runId, kind: 'removed' });
    expect(history[0]!.rule).toContain('scope: not a member of any scope group');
    expect((await personOf('Stayer')).status).toBe('created');
  });
});
