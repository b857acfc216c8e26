import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { AppServices } from '../../src/app-services.js';
import { readAppSettings } from '../../src/config/app-settings.js';
import { NODE_WORKER_ARGUMENTS, NODE_WORKER_ARGUMENTS_SETTING } from '../../src/config/node-worker.js';
import type { ConnectionSettings, ConnectionSettingsInput } from '../../src/domain/connection-settings.js';
import { nextDueAfter, type Schedule } from '../../src/domain/schedule.js';
import { type EmbeddedAzurite, startAzurite } from '../azurite/embedded-azurite.js';
import { type RunningStandin, type StandinOptions, startStandin } from '../standin/index.js';
import { type HostEvent, type HostProcess, startHostProcess } from './host-process.js';

export interface LocalEnvironmentOptions {
  /** The simulated tenant (the stand-in's generator and knobs). */
  readonly standin?: StandinOptions;
  /** Extra app settings for the host (SYNC_LEASE_SECONDS, …). */
  readonly settings?: Record<string, string>;
  /** The demo connection's schedule (default: every 5 minutes). */
  readonly schedule?: Schedule;
  /** Start the host now (default true). */
  readonly startHost?: boolean;
  readonly onHostEvent?: (event: HostEvent) => void;
  /** Extra Node.js options for the host process (profiling). */
  readonly hostNodeArgs?: readonly string[];
  /**
   * Change notifications: the host listens on a port chosen now, and SYNC_NOTIFICATION_URL points the
   * subscriptions at its webhook, so the stand-in delivers notifications to it (default false).
   */
  readonly notifications?: boolean;
}

export interface LocalEnvironment {
  readonly root: string;
  readonly azurite: EmbeddedAzurite;
  readonly standin: RunningStandin;
  /** The pipeline's own services, in this process, on the same storage (for reads and setup). */
  readonly services: AppServices;
  readonly tenantId: string;
  readonly functionKey: string;
  host(): HostProcess;
  /** Starts the host (again, after `host().stop()`), with `changed` app settings over the environment's. */
  startHost(changed?: Record<string, string>): Promise<HostProcess>;
  /** Stops the host (killed after `hostGraceMs`, see HostProcess.stop), the stand-in and Azurite. */
  stop(hostGraceMs?: number): Promise<void>;
}

/**
 * Everything `npm start`, the integration tests and the benchmark run on one machine: Azurite, the
 * Microsoft 365 stand-in with a generated tenant, the storage provisioned, the tenant's connection
 * saved (a custom cloud pointing at the stand-in, its client secret in the stand-in's Key Vault), and
 * the local Functions host in its own process.
 */
export async function startLocalEnvironment(
  options: LocalEnvironmentOptions = {},
): Promise<LocalEnvironment> {
  const root = projectRoot();
  const azurite = await startAzurite();
  const standin = await startStandin(options.standin);
  // The host's function key: FUNCTIONS_DEFAULT_KEY when set (a key you keep across restarts), else random.
  const functionKey = process.env.FUNCTIONS_DEFAULT_KEY || randomBytes(24).toString('base64url');
  const hostPort = options.notifications ? await freePort() : 0;
  const appSettings: Record<string, string> = {
    AzureWebJobsStorage: azurite.connectionString,
    KEY_VAULT_URI: standin.keyVaultUrl,
    FUNCTIONS_DEFAULT_KEY: functionKey,
    [NODE_WORKER_ARGUMENTS_SETTING]: NODE_WORKER_ARGUMENTS,
    ...(options.notifications
      ? { SYNC_NOTIFICATION_URL: `http://127.0.0.1:${hostPort}/api/notifications` }
      : {}),
    ...options.settings,
  };
  // The function app's own identity (to read Key Vault): locally, the process environment.
  const identity: Record<string, string> = {
    AZURE_TENANT_ID: standin.tenantId,
    AZURE_CLIENT_ID: standin.clientId,
    AZURE_CLIENT_SECRET: standin.clientSecret,
    AZURE_AUTHORITY_HOST: standin.authorityHost,
    NODE_EXTRA_CA_CERTS: standin.caCertPath,
  };
  const { services } = await provisionConnection(appSettings, identity, {
    tenantId: standin.tenantId,
    displayName: 'Contoso (simulated Microsoft 365 tenant)',
    cloud: { authorityHost: standin.authorityHost, graphEndpoint: standin.graphEndpoint },
    credential: { kind: 'client-secret', clientId: standin.clientId, secretName: standin.clientSecretName },
    schedule: options.schedule ?? { kind: 'interval', minutes: 5 },
  });

  let host: HostProcess | undefined;
  const startHost = async (changed: Record<string, string> = {}): Promise<HostProcess> => {
    host = await startHostProcess({
      root,
      env: { ...appSettings, ...changed, ...identity },
      port: hostPort,
      ...(options.hostNodeArgs ? { nodeArgs: options.hostNodeArgs } : {}),
      ...(options.onHostEvent ? { onEvent: options.onHostEvent } : {}),
    });
    return host;
  };
  if (options.startHost !== false) await startHost();

  return {
    root,
    azurite,
    standin,
    services,
    tenantId: standin.tenantId,
    functionKey,
    host: () => {
      if (!host) throw new Error('the local host is not running');
      return host;
    },
    startHost,
    stop: async (hostGraceMs?: number) => {
      await host?.stop(hostGraceMs);
      await standin.stop();
      await azurite.stop();
    },
  };
}

/**
 * The pipeline's own services on the given storage, every table/queue/container created, and the
 * tenant's connection saved with its first due time.
 */
export async function provisionConnection(
  appSettings: Record<string, string>,
  identityEnv: NodeJS.ProcessEnv,
  connection: ConnectionSettingsInput & { schedule: Schedule },
): Promise<{ services: AppServices; settings: ConnectionSettings }> {
  const services = new AppServices(readAppSettings({ ...identityEnv, ...appSettings }), identityEnv);
  await services.provisionStorage();
  const settings = await services
    .deps()
    .connections.save(connection, nextDueAfter(connection.schedule, new Date()));
  return { services, settings };
}

/** A TCP port free on 127.0.0.1 right now (the host binds it a moment later). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The folder with this project's package.json, from the source tree or from dist/. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'entra-people-sync'
    ) {
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the project root (package.json of entra-people-sync)');
    dir = parent;
  }
}
