import { describe, expect, it } from 'vitest';

import {
  type ConnectionSettingsInput,
  connectionSettingsSchema,
  scheduleSchema,
} from '../../../src/domain/connection-settings.js';
import { DEFAULT_POLICY } from '../../../src/domain/policy.js';

const VALID: ConnectionSettingsInput = {
  tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  displayName: 'Contoso',
  credential: {
    kind: 'client-secret',
    clientId: '1b1f0a1e-1d2b-4c3d-9e8f-0a1b2c3d4e5f',
    secretName: 'contoso-graph-secret',
  },
};

/** The path of every issue zod reports, as `a.b.c`: that is how an error message names the field. */
function refusedPaths(input: unknown): string[] {
  const result = connectionSettingsSchema.safeParse(input);
  expect(result.success).toBe(false);
  return result.success ? [] : result.error.issues.map((issue) => issue.path.join('.'));
}

describe('connectionSettingsSchema', () => {
  it('accepts a valid connection and fills the defaults', () => {
    expect(connectionSettingsSchema.parse(VALID)).toEqual({
      ...VALID,
      enabled: true,
      cloud: { preset: 'global' },
      schedule: { kind: 'daily', time: '02:00', timeZone: 'UTC' },
      policy: DEFAULT_POLICY,
      version: 0,
    });
  });

  it('accepts upper-case GUIDs, every credential kind, national and custom https clouds', () => {
    const inputs: ConnectionSettingsInput[] = [
      { ...VALID, tenantId: VALID.tenantId.toUpperCase() },
      { ...VALID, credential: { kind: 'managed-identity' } },
      {
        ...VALID,
        credential: {
          kind: 'client-certificate',
          clientId: '1b1f0a1e-1d2b-4c3d-9e8f-0a1b2c3d4e5f',
          certificateSecretName: 'Contoso-Cert-2025',
        },
      },
      { ...VALID, cloud: { preset: 'china' } },
      {
        ...VALID,
        cloud: { authorityHost: 'https://login.example.test', graphEndpoint: 'https://127.0.0.1:8443' },
      },
    ];
    for (const input of inputs) expect(connectionSettingsSchema.safeParse(input).success).toBe(true);
  });

  it('refuses a tenant id or client id that is not a GUID, naming the field', () => {
    expect(refusedPaths({ ...VALID, tenantId: 'contoso.onmicrosoft.com' })).toEqual(['tenantId']);
    expect(refusedPaths({ ...VALID, tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db4' })).toEqual(['tenantId']);
    expect(refusedPaths({ ...VALID, credential: { ...VALID.credential, clientId: 'not-a-guid' } })).toEqual([
      'credential.clientId',
    ]);
    const result = connectionSettingsSchema.safeParse({ ...VALID, tenantId: 'x' });
    expect(result.error?.issues[0]?.message).toBe('expected a GUID');
  });

  it('refuses an unknown time zone and a bad local time, naming the field', () => {
    expect(
      refusedPaths({ ...VALID, schedule: { kind: 'daily', time: '02:00', timeZone: 'Mars/Olympus_Mons' } }),
    ).toEqual(['schedule.timeZone']);
    expect(refusedPaths({ ...VALID, schedule: { kind: 'daily', time: '24:00', timeZone: 'UTC' } })).toEqual([
      'schedule.time',
    ]);
    expect(
      refusedPaths({
        ...VALID,
        schedule: { kind: 'twice-daily', times: ['08:00', '8:30'], timeZone: 'UTC' },
      }),
    ).toEqual(['schedule.times.1']);
  });

  it('refuses a custom cloud over http, or any non-https URL, naming the endpoint', () => {
    expect(
      connectionSettingsSchema.safeParse({
        ...VALID,
        cloud: { authorityHost: 'https://login.example.test', graphEndpoint: 'http://graph.example.test' },
      }).success,
    ).toBe(false);
    const result = connectionSettingsSchema.safeParse({
      ...VALID,
      cloud: { authorityHost: 'http://login.example.test', graphEndpoint: 'https://graph.example.test' },
    });
    expect(result.success).toBe(false);
    const paths = JSON.stringify(result.error?.issues);
    expect(paths).toContain('authorityHost');
  });

  it('refuses an unknown cloud preset and a custom pair with extra keys', () => {
    expect(connectionSettingsSchema.safeParse({ ...VALID, cloud: { preset: 'moon' } }).success).toBe(false);
    expect(
      connectionSettingsSchema.safeParse({
        ...VALID,
        cloud: { preset: 'global', authorityHost: 'https://login.example.test' },
      }).success,
    ).toBe(false);
  });

  it('refuses a Key Vault secret name with bad characters or too long, naming the field', () => {
    for (const secretName of ['graph_secret', 'graph.secret', 'graph secret', '', 'a'.repeat(128)]) {
      expect(refusedPaths({ ...VALID, credential: { ...VALID.credential, secretName } })).toEqual([
        'credential.secretName',
      ]);
    }
  });

  it('refuses an empty display name and a missing credential', () => {
    expect(refusedPaths({ ...VALID, displayName: '' })).toEqual(['displayName']);
    const { credential: _credential, ...withoutCredential } = VALID;
    expect(refusedPaths(withoutCredential)).toEqual(['credential']);
  });
});

describe('scheduleSchema', () => {
  it('accepts every schedule kind and defaults the hourly minute to 0', () => {
    expect(scheduleSchema.parse({ kind: 'hourly' })).toEqual({ kind: 'hourly', minute: 0 });
    for (const schedule of [
      { kind: 'manual' },
      { kind: 'interval', minutes: 15 },
      { kind: 'twice-daily', times: ['08:00', '20:00'], timeZone: 'Asia/Kolkata' },
      { kind: 'weekly', day: 'monday', time: '06:30', timeZone: 'America/New_York' },
    ]) {
      expect(scheduleSchema.safeParse(schedule).success).toBe(true);
    }
  });

  it('refuses an interval of 0 minutes or more than a day, and an unknown weekday', () => {
    expect(scheduleSchema.safeParse({ kind: 'interval', minutes: 0 }).success).toBe(false);
    expect(scheduleSchema.safeParse({ kind: 'interval', minutes: 24 * 60 + 1 }).success).toBe(false);
    expect(
      scheduleSchema.safeParse({ kind: 'weekly', day: 'Monday', time: '06:30', timeZone: 'UTC' }).success,
    ).toBe(false);
  });
});
