import { describe, expect, it } from 'vitest';

import { connectionSettingsSchema } from '../../../src/domain/connection-settings.js';
import {
  consentFailureOf,
  missingPermissions,
  requiredPermissions,
  tenantIdOf,
} from '../../../src/domain/consent.js';

const base = {
  tenantId: '0b4f8a57-64f8-4bd2-9d44-6cf0a7c06a3e',
  displayName: 'Contoso',
  credential: { kind: 'managed-identity' },
};
const names = (list: readonly { permission: string }[]) => list.map((p) => p.permission);

describe('the permissions a connection needs', () => {
  it('are User.Read.All and GroupMember.Read.All for a new tenant and for default settings', () => {
    expect(names(requiredPermissions(undefined))).toEqual(['User.Read.All', 'GroupMember.Read.All']);
    expect(names(requiredPermissions(connectionSettingsSchema.parse(base)))).toEqual([
      'User.Read.All',
      'GroupMember.Read.All',
    ]);
  });

  it('add CustomSecAttributeAssignment.Read.All only when a mapping reads custom security attributes', () => {
    const settings = connectionSettingsSchema.parse({
      ...base,
      policy: {
        mappings: [{ source: 'customSecurityAttributes.hr.level', target: { customProperty: 'level' } }],
      },
    });
    expect(names(requiredPermissions(settings))).toContain('CustomSecAttributeAssignment.Read.All');
  });

  it('add Mail.Send only when runs are told by mail', () => {
    const webhookOnly = connectionSettingsSchema.parse({
      ...base,
      notifications: { webhook: { url: 'https://hooks.example.com/x', secretName: 'hook' } },
    });
    expect(names(requiredPermissions(webhookOnly))).not.toContain('Mail.Send');
    const mailed = connectionSettingsSchema.parse({
      ...base,
      notifications: { mail: { from: 'sync@contoso.com', to: ['it@contoso.com'] } },
    });
    expect(names(requiredPermissions(mailed))).toContain('Mail.Send');
  });

  it('are missing unless granted, by themselves or by a broader permission', () => {
    const required = requiredPermissions(undefined);
    expect(names(missingPermissions(required, []))).toEqual(['User.Read.All', 'GroupMember.Read.All']);
    expect(names(missingPermissions(required, ['User.Read.All']))).toEqual(['GroupMember.Read.All']);
    expect(names(missingPermissions(required, ['User.Read.All', 'Group.Read.All']))).toEqual([]);
    expect(names(missingPermissions(required, ['Directory.Read.All']))).toEqual([]);
  });
});

describe("what a consent callback's error means", () => {
  it('tells a declined consent from one the signed-in user may not give', () => {
    expect(consentFailureOf('access_denied', 'AADSTS65004: User declined to consent').kind).toBe('declined');
    expect(consentFailureOf('consent_required', 'AADSTS65004: The resource owner … denied').kind).toBe(
      'declined',
    );
    expect(consentFailureOf('consent_required', 'AADSTS90094: policy').kind).toBe('consent-required');
    expect(consentFailureOf('server_error', undefined).kind).toBe('other');
  });

  it('takes only a GUID for a tenant id', () => {
    expect(tenantIdOf('0B4F8A57-64F8-4BD2-9D44-6CF0A7C06A3E')).toBe('0b4f8a57-64f8-4bd2-9d44-6cf0a7c06a3e');
    expect(tenantIdOf('organizations')).toBeUndefined();
    expect(tenantIdOf('contoso.onmicrosoft.com')).toBeUndefined();
    expect(tenantIdOf(undefined)).toBeUndefined();
  });
});
