/** What a run's notification says (mail and webhook alike), which endings notify, and the back-off. */
import { describe, expect, it } from 'vitest';

import { connectionSettingsSchema } from '../../../src/domain/connection-settings.js';
import { notificationChannels, runNotificationsSchema } from '../../../src/domain/run-notifications.js';
import type { RunSummary } from '../../../src/usecases/describe-runs.js';
import {
  LISTED_ERRORS,
  runLinks,
  runNotificationContent,
} from '../../../src/usecases/run-notification-content.js';
import { DEFAULT_RUN_NOTIFICATION_RETRY } from '../../../src/usecases/run-notification-deps.js';
import { retryDelaySeconds } from '../../../src/usecases/run-notifications.js';

const TENANT = '0b6f1d3c-5a4e-4f7b-9c2d-1e8a7b6c5d4e';
const RUN = '7f0c2a91-3b4d-4e5f-8a6b-9c0d1e2f3a4b';

function run(overrides: Partial<RunSummary> = {}): RunSummary {
  return {
    runId: RUN,
    trigger: 'settings',
    full: false,
    state: 'held',
    startedAt: '2026-12-02T00:00:00.000Z',
    endedAt: '2026-12-02T00:00:03.000Z',
    counts: { created: 0, updated: 2, deactivated: 0, removed: 0, unchanged: 70 },
    graphRequests: 0,
    directoryWrites: 4,
    failure: null,
    recoveries: 0,
    lastRecovery: null,
    errors: [],
    warnings: 0,
    gate: {
      decision: 'held',
      heldCounts: { removed: 61, deactivated: 3 },
      threshold: '64 of 74 people would leave the directory (more than 20%)',
      approvedBy: null,
      approvedAt: null,
      rejectedBy: null,
      rejectedAt: null,
    },
    ...overrides,
  };
}

const connection = { tenantId: TENANT, displayName: 'Contoso' };
const links = runLinks('https://sync.contoso.example/', 'entra-sync', TENANT, RUN);
const now = new Date('2026-12-02T00:00:04.000Z');

describe('run notification content', () => {
  it('a held run: what waits, the threshold, the approval link and the CLI line, in the mail and the webhook', () => {
    const content = runNotificationContent({ connection, state: 'held', run: run(), links, now });
    const approve = `https://sync.contoso.example/api/connections/${TENANT}/runs/${RUN}/approve`;
    expect(links.approve).toBe(approve);
    expect(content.subject).toBe('Sync run held for Contoso: 64 change(s) wait for approval');
    expect(content.text).toContain(
      'Held for approval: removed 61, deactivated 3 (64 of 74 people would leave',
    );
    expect(content.text).toContain(`POST ${approve}`);
    expect(content.text).toContain(
      `entra-sync --url https://sync.contoso.example --tenant ${TENANT} approve ${RUN}`,
    );
    expect(content.text).toContain('Counts: created 0, updated 2, deactivated 0, removed 0, unchanged 70');
    expect(content.payload).toMatchObject({
      type: 'run.held',
      timestamp: now.toISOString(),
      data: {
        tenantId: TENANT,
        runId: RUN,
        state: 'held',
        held: { counts: { removed: 61, deactivated: 3 } },
        links: { approve, approveMethod: 'POST', reject: approve.replace(/approve$/, 'reject') },
      },
    });
  });

  it('a completed run with errors lists the first errors and counts the rest by category; no approval', () => {
    const errors = Array.from({ length: LISTED_ERRORS + 3 }, (_, i) => ({
      category: i % 2 === 0 ? 'invalid-data' : 'manager-missing',
      objectId: null,
      message: `problem ${i}\nsecond line`,
    }));
    const content = runNotificationContent({
      connection,
      state: 'completed-with-errors',
      run: run({ state: 'completed-with-errors', errors, warnings: 6 }),
      links,
      now,
    });
    expect(content.subject).toBe('Sync run completed with errors for Contoso: updated 2, unchanged 70');
    expect(content.text).toContain('Errors: 13 (invalid-data 7, manager-missing 6), of which 6 warning(s)');
    expect(content.text).toContain('  - invalid-data: problem 0 second line');
    expect(content.text).toContain('… and 3 more');
    expect(content.text).not.toContain('/approve');
    expect(content.payload.data.held).toBeNull();
    expect(content.payload.data.errors).toMatchObject({ total: 13, byCategory: { 'invalid-data': 7 } });
    expect(content.payload.data.errors.first).toHaveLength(LISTED_ERRORS);
  });

  it('a failed run says why in the subject', () => {
    const content = runNotificationContent({
      connection,
      state: 'failed',
      run: run({ state: 'failed', failure: 'Graph answered 403 Authorization_RequestDenied' }),
      links,
      now,
    });
    expect(content.subject).toBe(
      'Sync run failed for Contoso: Graph answered 403 Authorization_RequestDenied',
    );
  });

  it('links are paths when the app has no public URL', () => {
    expect(runLinks(undefined, 'entra-sync', TENANT, RUN).approve).toBe(
      `/api/connections/${TENANT}/runs/${RUN}/approve`,
    );
  });
});

describe('the notifications setting', () => {
  const mail = { from: 'sync@contoso.com', to: ['it@contoso.com'] };
  const webhook = { url: 'https://hooks.contoso.com/sync', secretName: 'sync-hook-secret' };

  it('notifies the chosen endings on the configured channels (default: failed and held)', () => {
    const both = runNotificationsSchema.parse({ mail, webhook });
    expect(both.on).toEqual(['failed', 'held']);
    expect(notificationChannels(both, 'held')).toEqual(['mail', 'webhook']);
    expect(notificationChannels(both, 'completed')).toEqual([]);
    expect(
      notificationChannels(runNotificationsSchema.parse({ on: ['completed'], webhook }), 'completed'),
    ).toEqual(['webhook']);
    expect(notificationChannels(undefined, 'failed')).toEqual([]);
    expect(notificationChannels(both, 'running')).toEqual([]);
  });

  it('refuses a plain-http webhook, a secret value in place of its name, a bad address and no channel', () => {
    const problems = (value: unknown) =>
      runNotificationsSchema.safeParse(value).error?.issues.map((i) => i.path.join('.')) ?? [];
    expect(problems({ webhook: { ...webhook, url: 'http://hooks.contoso.com' } })).toEqual(['webhook.url']);
    expect(problems({ webhook: { ...webhook, secretName: 'whsec_abc+/=' } })).toEqual(['webhook.secretName']);
    expect(problems({ webhook: { ...webhook, secret: 'x' } })).toEqual(['webhook']);
    expect(problems({ mail: { ...mail, to: ['not an address'] } })).toEqual(['mail.to.0']);
    expect(problems({ on: ['held'] })).toEqual(['']);
    expect(problems({ mail, on: ['rejected'] })).toEqual(['on.0']);
  });

  it('is optional in a connection’s settings', () => {
    const base = {
      tenantId: TENANT,
      displayName: 'Contoso',
      credential: { kind: 'managed-identity' },
    };
    expect(connectionSettingsSchema.parse(base).notifications).toBeUndefined();
    expect(connectionSettingsSchema.parse({ ...base, notifications: { mail } }).notifications?.on).toEqual([
      'failed',
      'held',
    ]);
  });
});

describe('back-off', () => {
  it('doubles from 2 s, capped at 5 minutes', () => {
    const delays = [1, 2, 3, 4, 5, 9].map((n) => retryDelaySeconds(DEFAULT_RUN_NOTIFICATION_RETRY, n));
    expect(delays).toEqual([2, 4, 8, 16, 32, 300]);
  });
});
