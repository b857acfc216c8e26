import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { z } from 'zod';

import type { AppServices } from '../../src/app-services.js';
import { NODE_WORKER_ARGUMENTS, NODE_WORKER_ARGUMENTS_SETTING } from '../../src/config/node-worker.js';
import type { CloudSetting } from '../../src/domain/cloud.js';
import { CLOUD_PRESETS } from '../../src/domain/cloud.js';
import type { Schedule } from '../../src/domain/schedule.js';
import { type EmbeddedAzurite, startAzurite } from '../azurite/embedded-azurite.js';
import { type HostEvent, type HostProcess, startHostProcess } from './host-process.js';
import { provisionConnection } from './local-environment.js';

/**
 * Your own tenant (or any Graph-compatible endpoint, such as another stand-in), named in
 * local.settings.json `Values`. The client secret stays in Key Vault (`SYNC_CLIENT_SECRET_NAME` in
 * `KEY_VAULT_URI`); the function app's own identity, which reads it, comes from the process
 * environment (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_AUTHORITY_HOST), never
 * from a file.
 */
const tenantValuesSchema = z.object({
  SYNC_TENANT_ID: z.string().min(1),
  SYNC_CLIENT_ID: z.string().min(1),
  SYNC_CLIENT_SECRET_NAME: z.string().min(1),
  KEY_VAULT_URI: z.url(),
  SYNC_CLOUD: z.enum(Object.keys(CLOUD_PRESETS) as [keyof typeof CLOUD_PRESETS]).optional(),
  SYNC_AUTHORITY_HOST: z.url().optional(),
  SYNC_GRAPH_ENDPOINT: z.url().optional(),
  AzureWebJobsStorage: z.string().optional(),
});

export type TenantValues = z.infer<typeof tenantValuesSchema>;

/** The tenant named in local.settings.json, or undefined when it names none (the demo then runs). */
export async function readTenantValues(root: string): Promise<TenantValues | undefined> {
  let text: string;
  try {
    text = await readFile(join(root, 'local.settings.json'), 'utf8');
  } catch {
    return undefined;
  }
  const values = z
    .object({ Values: z.record(z.string(), z.string()).default({}) })
    .parse(JSON.parse(text)).Values;
  if (values.SYNC_TENANT_ID === undefined) return undefined;
  const parsed = tenantValuesSchema.safeParse(values);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`local.settings.json names a tenant but its settings are invalid: ${problems}`);
  }
  return parsed.data;
}

export interface TenantEnvironment {
  readonly services: AppServices;
  readonly tenantId: string;
  readonly host: HostProcess;
  /** The host's function key (FUNCTIONS_DEFAULT_KEY when set, else random). */
  readonly functionKey: string;
  /** The embedded Azurite's connection string (undefined with a real storage account, whose key is secret). */
  readonly azuriteConnectionString: string | undefined;
  stop(hostGraceMs?: number): Promise<void>;
}

export async function startTenantEnvironment(
  root: string,
  values: TenantValues,
  schedule: Schedule,
  onHostEvent?: (event: HostEvent) => void,
): Promise<TenantEnvironment> {
  const realStorage =
    values.AzureWebJobsStorage && values.AzureWebJobsStorage !== 'UseDevelopmentStorage=true';
  const azurite: EmbeddedAzurite | undefined = realStorage ? undefined : await startAzurite();
  const functionKey = process.env.FUNCTIONS_DEFAULT_KEY || randomBytes(24).toString('base64url');
  const appSettings: Record<string, string> = {
    AzureWebJobsStorage: azurite ? azurite.connectionString : values.AzureWebJobsStorage!,
    KEY_VAULT_URI: values.KEY_VAULT_URI,
    FUNCTIONS_DEFAULT_KEY: functionKey,
    [NODE_WORKER_ARGUMENTS_SETTING]: NODE_WORKER_ARGUMENTS,
  };
  const cloud: CloudSetting =
    values.SYNC_AUTHORITY_HOST && values.SYNC_GRAPH_ENDPOINT
      ? { authorityHost: values.SYNC_AUTHORITY_HOST, graphEndpoint: values.SYNC_GRAPH_ENDPOINT }
      : { preset: values.SYNC_CLOUD ?? 'global' };
  const { services, settings } = await provisionConnection(appSettings, process.env, {
    tenantId: values.SYNC_TENANT_ID,
    displayName: `Tenant ${values.SYNC_TENANT_ID}`,
    cloud,
    credential: {
      kind: 'client-secret',
      clientId: values.SYNC_CLIENT_ID,
      secretName: values.SYNC_CLIENT_SECRET_NAME,
    },
    schedule,
  });
  const host = await startHostProcess({
    root,
    env: appSettings,
    ...(onHostEvent ? { onEvent: onHostEvent } : {}),
  });
  return {
    services,
    tenantId: settings.tenantId,
    host,
    functionKey,
    azuriteConnectionString: azurite?.connectionString,
    stop: async (hostGraceMs?: number) => {
      await host.stop(hostGraceMs);
      await azurite?.stop();
    },
  };
}
