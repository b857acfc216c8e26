import type { CloudSetting } from '../domain/cloud.js';
import { resolveCloud } from '../domain/cloud.js';
import { type ConnectionSettings, connectionSettingsSchema } from '../domain/connection-settings.js';
import {
  type ConsentCallback,
  type ConsentFailure,
  consentFailureOf,
  missingPermissions,
  type RequiredPermission,
  requiredPermissions,
  tenantIdOf,
} from '../domain/consent.js';
import { nextDueAfter } from '../domain/schedule.js';
import type { ConsentNonces, ConsentStateSigner, TenantProbe } from '../ports/consent.js';
import { ensureError } from '../shared/errors.js';
import { maintainSubscriptions } from './maintain-subscriptions.js';
import type { NotificationDeps } from './notification-deps.js';
import type { Logger } from './pipeline-deps.js';
import { requestSync } from './request-sync.js';

/** Multi-tenant mode: the app registration whose certificate is in Key Vault, and its cloud. */
export interface MultiTenantApp {
  readonly clientId: string;
  readonly certificateSecretName: string;
  readonly cloud: CloudSetting;
}

export interface ConsentDeps {
  /** The pipeline (connections, queues, clock) and the subscriptions' use case. */
  readonly notifications: NotificationDeps;
  /** Undefined when multi-tenant mode is off (SYNC_MULTITENANT_CLIENT_ID and the certificate unset). */
  readonly app: MultiTenantApp | undefined;
  readonly signer: ConsentStateSigner;
  readonly nonces: ConsentNonces;
  readonly probe: TenantProbe | undefined;
  readonly stateLifetimeSeconds: number;
  newNonce(): string;
  /** Records the roles the consent granted as the tenant's last permission check (the status route reads it). */
  recordPermissions(tenantId: string, roles: readonly string[], log: Logger): Promise<void>;
}

export type StartConsent =
  | { readonly ok: true; readonly location: string }
  | { readonly ok: false; readonly status: 400 | 404; readonly error: string };

/**
 * `GET /api/connect`: where to send the admin, Entra's admin consent endpoint
 * (`/{tenant|organizations}/v2.0/adminconsent`) for the app's Graph application permissions
 * (`<graph>/.default`), with a signed state that expires and can be used once.
 */
export async function startConsent(
  deps: ConsentDeps,
  input: { readonly tenant: string | undefined; readonly redirectUri: string },
): Promise<StartConsent> {
  if (!deps.app) {
    return {
      ok: false,
      status: 404,
      error: 'multi-tenant mode is off: set SYNC_MULTITENANT_CLIENT_ID and SYNC_MULTITENANT_CERTIFICATE_NAME',
    };
  }
  let tenant = 'organizations';
  if (input.tenant !== undefined && input.tenant !== '') {
    const id = tenantIdOf(input.tenant);
    if (!id) return { ok: false, status: 400, error: 'tenant: expected a tenant id (a GUID)' };
    tenant = id;
  }
  const now = deps.notifications.pipeline.now();
  const state = await deps.signer.sign({
    nonce: deps.newNonce(),
    tenant,
    exp: Math.floor(now.getTime() / 1000) + deps.stateLifetimeSeconds,
  });
  const cloud = resolveCloud(deps.app.cloud);
  const url = new URL(`${cloud.authorityHost}/${tenant}/v2.0/adminconsent`);
  url.searchParams.set('client_id', deps.app.clientId);
  url.searchParams.set('scope', `${cloud.graphEndpoint}/.default`);
  url.searchParams.set('redirect_uri', input.redirectUri);
  url.searchParams.set('state', state);
  return { ok: true, location: url.toString() };
}

/** What the callback did, for the page the admin sees. */
export type ConsentOutcome =
  | {
      readonly kind: 'connected';
      readonly tenantId: string;
      readonly roles: readonly string[];
      /** `off` without SYNC_NOTIFICATION_URL; `failed` is retried by the renewal timer. */
      readonly subscriptions: 'created' | 'failed' | 'off';
      readonly runRequested: boolean;
    }
  | {
      readonly kind: 'missing-permissions';
      readonly tenantId: string;
      readonly missing: readonly RequiredPermission[];
      readonly roles: readonly string[];
    }
  | {
      readonly kind: 'failed';
      readonly failure: ConsentFailure;
      readonly error: string;
      readonly description: string;
    }
  | { readonly kind: 'refused'; readonly status: 400 | 403 | 404; readonly reason: string };

const refused = (status: 400 | 403 | 404, reason: string): ConsentOutcome => ({
  kind: 'refused',
  status,
  reason,
});

/**
 * The consent callback. The state is checked first (signed by this app, not expired, its nonce used
 * once), then Entra's `error` is explained; an accepted consent is never taken at its word: the
 * returned `tenant` is only a claim, proven by signing in to it as the app and calling Graph, and the
 * granted permissions are read from the token's `roles`. A tenant missing a permission is saved
 * disabled (no subscriptions, no run) and each missing permission is named; otherwise the connection
 * is saved enabled, its change-notification subscriptions made, and its initial run requested.
 */
export async function completeConsent(
  deps: ConsentDeps,
  callback: ConsentCallback,
  log: Logger,
): Promise<ConsentOutcome> {
  if (!deps.app || !deps.probe) return refused(404, 'multi-tenant mode is off');
  const pipeline = deps.notifications.pipeline;
  const now = pipeline.now();
  if (callback.state === undefined)
    return refused(400, 'the answer carries no state: start again from /api/connect');
  const verified = await deps.signer.verify(callback.state, now);
  if (!verified.ok) return refused(400, `${verified.reason}: start again from /api/connect`);
  const { claims } = verified;
  if (!(await deps.nonces.markUsed(claims.nonce, new Date(claims.exp * 1000), now))) {
    return refused(400, 'this consent answer was already used: start again from /api/connect');
  }
  if (callback.error !== undefined) {
    const failure = consentFailureOf(callback.error, callback.error_description);
    log.info('admin consent refused', { error: callback.error, kind: failure.kind });
    return { kind: 'failed', failure, error: callback.error, description: callback.error_description ?? '' };
  }
  if ((callback.admin_consent ?? '').toLowerCase() !== 'true') {
    return refused(400, 'the answer is neither a consent nor an error: start again from /api/connect');
  }
  const tenantId = tenantIdOf(callback.tenant);
  if (!tenantId) return refused(400, 'the answer names no tenant id');
  if (claims.tenant !== 'organizations' && claims.tenant !== tenantId) {
    return refused(
      403,
      `the answer names tenant ${tenantId}, not the tenant ${claims.tenant} the consent was asked of`,
    );
  }

  let proof;
  try {
    proof = await deps.probe.prove(tenantId);
  } catch (error) {
    log.warn('a consented tenant could not be proven', { tenantId, error: ensureError(error).message });
    return refused(403, `the app could not sign in to tenant ${tenantId}: nothing was connected`);
  }
  if (proof.tokenTenantId !== tenantId) {
    log.warn('a consent answer named another tenant than the token', {
      tenantId,
      tokenTenantId: proof.tokenTenantId,
    });
    return refused(403, `the token Entra issued is not for tenant ${tenantId}: nothing was connected`);
  }

  const existing = await pipeline.connections.get(tenantId);
  const missing = missingPermissions(requiredPermissions(existing?.settings), proof.roles);
  const enabled = missing.length === 0 && proof.graphAnswered;
  const settings = await saveConnection(deps, deps.app, tenantId, existing?.settings, enabled, now);
  await deps.recordPermissions(tenantId, proof.roles, log);
  log.info('tenant connected by admin consent', {
    tenantId,
    enabled: settings.enabled,
    roles: [...proof.roles].sort().join(' '),
    missing: missing.map((m) => m.permission).join(' '),
  });
  if (!enabled) {
    return { kind: 'missing-permissions', tenantId, missing, roles: proof.roles };
  }

  let subscriptions: 'created' | 'failed' | 'off' = 'off';
  if (deps.notifications.settings.notificationUrl !== undefined) {
    const report = await maintainSubscriptions(deps.notifications, log, { tenantId });
    subscriptions = report.failed.includes(tenantId) ? 'failed' : 'created';
  }
  await requestSync(pipeline, tenantId, 'initial');
  return { kind: 'connected', tenantId, roles: proof.roles, subscriptions, runRequested: true };
}

/**
 * Saves the connection: a new one with the defaults, or the existing one (its settings kept) now
 * signing in as the multi-tenant app; enabled only when every permission it needs was granted.
 */
async function saveConnection(
  deps: ConsentDeps,
  app: MultiTenantApp,
  tenantId: string,
  previous: ConnectionSettings | undefined,
  enabled: boolean,
  now: Date,
): Promise<ConnectionSettings> {
  const credential = {
    kind: 'client-certificate' as const,
    clientId: app.clientId,
    certificateSecretName: app.certificateSecretName,
  };
  const connections = deps.notifications.pipeline.connections;
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const stored = previous ? await connections.get(tenantId) : undefined;
    if (!stored) {
      const settings = connectionSettingsSchema.parse({
        tenantId,
        displayName: `Tenant ${tenantId}`,
        cloud: app.cloud,
        credential,
        enabled,
      });
      return connections.save(settings, nextDueAfter(settings.schedule, now));
    }
    const settings = { ...stored.settings, cloud: app.cloud, credential, enabled };
    if (await connections.replace(stored, settings, nextDueAfter(settings.schedule, now))) {
      return connectionSettingsSchema.parse(settings);
    }
  }
  throw new Error(`connection ${tenantId} kept changing while it was saved`);
}
