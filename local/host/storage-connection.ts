import { requireAppSetting, resolveSettingReferences } from './app-settings.js';

export const DEFAULT_STORAGE_CONNECTION = 'AzureWebJobsStorage';

/**
 * Resolves a binding's `connection` (an app-setting name, default `AzureWebJobsStorage`; `%NAME%` references
 * allowed) to the connection string it holds. Like the host, `X` also finds a setting named `AzureWebJobsX`.
 */
export function resolveStorageConnectionString(connection: unknown, usedFor: string): string {
  const name = resolveSettingReferences(
    typeof connection === 'string' && connection !== '' ? connection : DEFAULT_STORAGE_CONNECTION,
    usedFor,
  );
  const prefixed = `AzureWebJobs${name}`;
  if (!process.env[name] && process.env[prefixed]) return requireAppSetting(prefixed, usedFor);
  return requireAppSetting(name, usedFor);
}

/** Resolves a binding's `queueName` (`%NAME%` references allowed); queue names are lower case. */
export function resolveQueueName(queueName: unknown, usedFor: string): string {
  if (typeof queueName !== 'string' || queueName === '') throw new Error(`${usedFor} has no queueName.`);
  return resolveSettingReferences(queueName, usedFor).toLowerCase();
}
