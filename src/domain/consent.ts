import { z } from 'zod';

import type { ConnectionSettings } from './connection-settings.js';
import { usesSecurityAttributes } from './mirrored-properties.js';

/**
 * Connecting a tenant by admin consent (multi-tenant mode): which Graph application permissions a
 * connection needs, which of them a token's `roles` lack, what the consent callback's `error` means for
 * the admin, and the claims of the signed `state` that ties a callback to the app's own redirect.
 */

/** A permission the connection needs, and why (shown to the admin when it is missing). */
export interface RequiredPermission {
  readonly permission: string;
  readonly why: string;
}

/**
 * Least privilege: User.Read.All and GroupMember.Read.All always; CustomSecAttributeAssignment.Read.All
 * only when a mapping or the scope `$filter` reads custom security attributes; Mail.Send only when runs
 * are told by mail. Without settings (a tenant connecting for the first time), the defaults need neither.
 */
export function requiredPermissions(settings: ConnectionSettings | undefined): RequiredPermission[] {
  const required: RequiredPermission[] = [
    { permission: 'User.Read.All', why: 'read the users of the directory (delta queries)' },
    { permission: 'GroupMember.Read.All', why: 'read groups and their members (scope groups, teams)' },
  ];
  if (settings && usesSecurityAttributes(settings.policy)) {
    required.push({
      permission: 'CustomSecAttributeAssignment.Read.All',
      why: 'a mapping or the scope filter reads custom security attributes',
    });
  }
  if (settings?.notifications?.mail !== undefined) {
    required.push({ permission: 'Mail.Send', why: 'run notifications are sent by mail' });
  }
  return required;
}

/** Broader permissions that include a narrower one (Graph's permissions reference). */
const SATISFIED_BY: Readonly<Record<string, readonly string[]>> = {
  'User.Read.All': ['User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'],
  'GroupMember.Read.All': [
    'GroupMember.ReadWrite.All',
    'Group.Read.All',
    'Group.ReadWrite.All',
    'Directory.Read.All',
    'Directory.ReadWrite.All',
  ],
};

/** The required permissions the granted roles (a token's `roles` claim) do not cover, in order. */
export function missingPermissions(
  required: readonly RequiredPermission[],
  roles: readonly string[],
): RequiredPermission[] {
  const granted = new Set(roles);
  return required.filter(
    ({ permission }) =>
      !granted.has(permission) && !(SATISFIED_BY[permission] ?? []).some((r) => granted.has(r)),
  );
}

/** What a consent callback's `error` means, and what the admin should do about it. */
export interface ConsentFailure {
  readonly kind: 'declined' | 'consent-required' | 'other';
  readonly title: string;
  readonly advice: string;
}

/**
 * Entra answers a refused consent with `error` (`access_denied` when the admin declined,
 * `consent_required` when the one who signed in may not consent for the organization) and an
 * `error_description` starting with an AADSTS code (AADSTS65004: declined).
 */
export function consentFailureOf(error: string, description: string | undefined): ConsentFailure {
  const code = /^AADSTS(\d+)/.exec(description ?? '')?.[1];
  if (error === 'access_denied' || code === '65004') {
    return {
      kind: 'declined',
      title: 'Consent was declined',
      advice:
        'Nothing was connected. To connect the tenant, start again and choose Accept on the consent ' +
        'screen; the sync reads users and groups only.',
    };
  }
  if (error === 'consent_required' || code === '90094' || code === '65001') {
    return {
      kind: 'consent-required',
      title: 'An administrator must consent',
      advice:
        'Nothing was connected. The account that signed in may not consent for the organization: ask a ' +
        'Privileged Role Administrator or Global Administrator of the tenant to start the connection.',
    };
  }
  return {
    kind: 'other',
    title: 'The consent did not complete',
    advice: 'Nothing was connected. Start the connection again; if it fails again, pass on the error below.',
  };
}

/** The signed `state` of one consent request: who asked (a single-use nonce) and until when. */
export const consentStateClaimsSchema = z.object({
  /** Single use: recorded as used when its callback arrives; a second callback with it is refused. */
  nonce: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/),
  /** The tenant the request was sent to (`organizations` when the admin picks it by signing in). */
  tenant: z.string().min(1).max(64),
  /** Seconds since the epoch. */
  exp: z.number().int(),
});
export type ConsentStateClaims = z.infer<typeof consentStateClaimsSchema>;

/** What the consent callback receives (Entra's redirect, or anyone's request: parsed, never trusted). */
export const consentCallbackSchema = z.object({
  state: z.string().min(1).max(4096).optional(),
  admin_consent: z.string().max(16).optional(),
  tenant: z.string().max(256).optional(),
  scope: z.string().max(8192).optional(),
  error: z.string().max(256).optional(),
  error_description: z.string().max(4096).optional(),
});
export type ConsentCallback = z.infer<typeof consentCallbackSchema>;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A tenant id as Entra returns it (a GUID), lower-cased; undefined for anything else. */
export function tenantIdOf(value: string | undefined): string | undefined {
  return value !== undefined && GUID.test(value) ? value.toLowerCase() : undefined;
}
