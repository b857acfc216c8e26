/**
 * The Microsoft Graph + Entra stand-in: a real HTTPS server (certificate from a local CA) serving Entra's
 * token endpoint, Graph v1.0 directory reads, delta, `$batch`, subscriptions, sendMail and Key Vault
 * secrets over a generated tenant, with a seeded fault plan and a control API.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';

import { AccessTokenIssuer } from './auth/access-tokens.js';
import {
  type AppRegistration,
  createAppRegistration,
  DEFAULT_GRANTED_PERMISSIONS,
} from './auth/app-registration.js';
import { registerTokenRoutes } from './auth/token-routes.js';
import { registerControlRoutes } from './control/control-routes.js';
import { createStandinControl, type StandinControl } from './control/standin-control.js';
import { FaultInjector, type FaultPlanInput } from './faults/fault-plan.js';
import { batchRouteDeps } from './graph/batch-dispatch.js';
import { registerBatchRoute } from './graph/batch-route.js';
import { registerDeltaRoutes } from './graph/delta-routes.js';
import { registerDirectoryRoutes } from './graph/directory-routes.js';
import { RequestCounters } from './http/counters.js';
import { Dispatcher } from './http/dispatcher.js';
import { Router } from './http/router.js';
import { registerKeyVaultRoutes, type SecretStore } from './keyvault/index.js';
import { type MailOutbox, registerMailRoutes } from './mail/index.js';
import {
  registerSubscriptionRoutes,
  type SubscriptionService,
  type SubscriptionTimings,
} from './subscriptions/index.js';
import { type GeneratedTenantInfo, generateTenant } from './tenant/generator.js';
import { SeededRandom } from './tenant/seeded-random.js';
import { TenantStore } from './tenant/tenant-store.js';
import { text } from './tenant/types.js';
import { issueServerCertificate, loadOrCreateCa } from './tls/local-ca.js';

export type { TenantOperation } from './control/operations.js';
export type {
  SnapshotGroup,
  SnapshotUser,
  StandinControl,
  TenantSnapshot,
} from './control/standin-control.js';
export type { FaultPlan, FaultPlanInput } from './faults/fault-plan.js';
export type { CountersView } from './http/counters.js';
export { DEFAULT_CA_DIR, ensureLocalCa } from './tls/local-ca.js';

export interface StandinOptions {
  /** Generated users (default 100; up to 200,000). */
  users?: number;
  /** Generated groups (default users / 20). */
  groups?: number;
  /** Seed of the generator (default 1): same seed, same tenant. */
  seed?: number;
  /** Port (default 0: a free port). */
  port?: number;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Folder of the local CA (default `<tmpdir>/entra-sync-standin-ca`). */
  caDir?: string;
  /** Tenant id (default derived from the seed). */
  tenantId?: string;
  /** App registration client id (default derived from the seed). */
  clientId?: string;
  /** Client secret (default random). */
  clientSecret?: string;
  /** Granted application permissions (default User.Read.All, GroupMember.Read.All, Mail.Send). */
  grantedPermissions?: readonly string[];
  /** Verified domain of member users (default contoso.com). */
  domain?: string;
  /** Users per `/users/delta` page (default 200). */
  deltaPageSize?: number;
  /** Group objects + member references per `/groups/delta` page (default 500). */
  groupDeltaPageBudget?: number;
  /** Access token lifetime (default 3600 s). */
  tokenLifetimeSeconds?: number;
  /** Initial fault plan. */
  faults?: FaultPlanInput;
  /** Subscription plug-in timings (coalescing, retries, lifecycle lead time). */
  subscriptionTimings?: Partial<SubscriptionTimings>;
}

export interface RunningStandin {
  readonly graphBaseUrl: string;
  readonly graphEndpoint: string;
  readonly authorityHost: string;
  readonly keyVaultUrl: string;
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Certificate + private key PEM for ClientCertificateCredential. */
  readonly clientCertificatePem: string;
  readonly caCertPath: string;
  readonly controlUrl: string;
  readonly control: StandinControl;
  readonly outbox: MailOutbox;
  readonly subscriptions: SubscriptionService;
  readonly secrets: SecretStore;
  /** Generator facts: counts, departments, and the directory extension property names. */
  readonly generated: GeneratedTenantInfo;
  /** Name of the Key Vault secret pre-seeded with the app's client secret. */
  readonly clientSecretName: string;
  /** Name of the Key Vault secret pre-seeded with a subscription clientState. */
  readonly clientStateSecretName: string;
  stop(): Promise<void>;
}

export const CLIENT_SECRET_NAME = 'graph-client-secret';
export const CLIENT_STATE_SECRET_NAME = 'graph-subscription-client-state';

export async function startStandin(options: StandinOptions = {}): Promise<RunningStandin> {
  const seed = options.seed ?? 1;
  const ids = new SeededRandom(seed ^ 0x5eed);
  const tenantId = options.tenantId ?? ids.uuid();
  const clientId = options.clientId ?? ids.uuid();
  const servicePrincipalId = ids.uuid();
  const domain = options.domain ?? 'contoso.com';
  const clientSecret = options.clientSecret ?? `${crypto.randomUUID().replace(/-/g, '')}~Sd`;

  let clockOffsetMs = 0;
  const now = (): Date => new Date(Date.now() + clockOffsetMs);
  let deltaPageSize = options.deltaPageSize ?? 200;
  let groupBudget = options.groupDeltaPageBudget ?? 500;

  const store = new TenantStore(tenantId, now);
  const generated = generateTenant(store, {
    seed,
    users: options.users ?? 100,
    ...(options.groups !== undefined ? { groups: options.groups } : {}),
    domain,
    extensionAppId: clientId.replace(/-/g, ''),
  });

  const ca = await loadOrCreateCa(options.caDir);
  const host = options.host ?? '127.0.0.1';
  const serverCert = issueServerCertificate(ca, [host]);
  const app: AppRegistration = createAppRegistration({
    clientId,
    servicePrincipalId,
    clientSecret,
    grantedPermissions: options.grantedPermissions ?? DEFAULT_GRANTED_PERMISSIONS,
  });
  const tokens = new AccessTokenIssuer(now, options.tokenLifetimeSeconds ?? 3600);
  const faults = new FaultInjector();
  if (options.faults) faults.set(options.faults);
  const counters = new RequestCounters();
  const graph = new Router();
  const root = new Router();
  const controlRouter = new Router();
  let origin = '';
  const originOf = (): string => origin;

  registerTokenRoutes(root, { tenantId, app, tokens, origin: originOf, now });
  registerDirectoryRoutes(graph, { store });
  registerDeltaRoutes(graph, {
    store,
    faults,
    counters,
    now,
    userPageSize: () => deltaPageSize,
    groupPageBudget: () => groupBudget,
  });
  const batchDeps = batchRouteDeps();
  registerBatchRoute(graph, batchDeps);
  const subscriptions = registerSubscriptionRoutes(graph, {
    tenantId,
    clientId,
    creatorId: servicePrincipalId,
    onChange: (listener) => store.onChange(listener),
    droppedNotificationRate: () => faults.droppedNotificationRate,
    random: () => faults.draw(),
    now: () => now().getTime(),
    ...(options.subscriptionTimings ? { timings: options.subscriptionTimings } : {}),
  });
  const secrets = registerKeyVaultRoutes(root, {
    seedSecrets: { [CLIENT_SECRET_NAME]: clientSecret, [CLIENT_STATE_SECRET_NAME]: crypto.randomUUID() },
    now: () => now().getTime(),
  });
  const outbox = registerMailRoutes(graph, {
    findUser: (idOrUpn) => {
      const user = store.findUser(idOrUpn);
      if (!user) return undefined;
      const mail = user.props.mail;
      return {
        id: user.id,
        userPrincipalName: text(user.props.userPrincipalName),
        mail: typeof mail === 'string' ? mail : null,
      };
    },
    now: () => now().getTime(),
  });

  const dispatcher = new Dispatcher({
    origin: originOf,
    tenantId,
    app,
    tokens,
    faults,
    counters,
    graph,
    root,
    control: controlRouter,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    now: () => performance.now(),
  });
  batchDeps.bind((input) => dispatcher.dispatch(input));

  const control = createStandinControl({
    store,
    domain,
    faults,
    counters,
    app,
    advanceClock: (ms) => {
      clockOffsetMs += ms;
      store.purgeExpiredSoftDeletes();
    },
    setDeltaPageSize: (users, budget) => {
      deltaPageSize = users;
      if (budget !== undefined) groupBudget = budget;
    },
  });

  const server = createServer({ key: serverCert.keyPem, cert: serverCert.certPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const remote = req.socket.remoteAddress ?? '';
      dispatcher
        .dispatch({
          method: req.method ?? 'GET',
          pathAndQuery: req.url ?? '/',
          headers: req.headers,
          rawBody: Buffer.concat(chunks),
          inBatch: false,
          fromLoopback: remote === '127.0.0.1' || remote === '::1' || remote === '::ffff:127.0.0.1',
        })
        .then((result) => {
          res.writeHead(result.status, result.headers);
          res.end(result.body);
        })
        .catch((error: unknown) => {
          res.writeHead(500, { 'Content-Type': 'text/plain' });
          res.end(error instanceof Error ? error.message : 'Unexpected error');
        });
    });
  });
  await listen(server, options.port ?? 0, host);
  const port = (server.address() as AddressInfo).port;
  origin = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const running: RunningStandin = {
    graphBaseUrl: `${origin}/v1.0`,
    graphEndpoint: origin,
    authorityHost: origin,
    keyVaultUrl: origin,
    tenantId,
    clientId,
    clientSecret,
    clientCertificatePem: `${app.certificatePem}${app.privateKeyPem}`,
    caCertPath: ca.caCertPath,
    controlUrl: `${origin}/_standin`,
    control,
    outbox,
    subscriptions,
    secrets,
    generated,
    clientSecretName: CLIENT_SECRET_NAME,
    clientStateSecretName: CLIENT_STATE_SECRET_NAME,
    stop: async () => {
      subscriptions.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  registerControlRoutes(controlRouter, {
    control,
    outbox,
    subscriptions,
    info: () => ({
      graphBaseUrl: running.graphBaseUrl,
      authorityHost: running.authorityHost,
      keyVaultUrl: running.keyVaultUrl,
      tenantId,
      clientId,
      caCertPath: running.caCertPath,
      controlUrl: running.controlUrl,
    }),
  });
  return running;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
