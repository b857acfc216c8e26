import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { z } from 'zod';

/** host.json `extensions.queues`, with the Azure Functions defaults applied. Durations in milliseconds. */
export interface QueuesConfig {
  readonly batchSize: number;
  readonly newBatchThreshold: number;
  readonly maxPollingIntervalMs: number;
  readonly visibilityTimeoutMs: number;
  readonly maxDequeueCount: number;
  readonly messageEncoding: 'base64' | 'none';
}

export interface HostConfig {
  readonly queues: QueuesConfig;
  /** host.json `extensions.http.routePrefix` (default `api`; empty string = no prefix). */
  readonly httpRoutePrefix: string;
}

const TIMESPAN = /^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,7}))?$/;

/** Parses a .NET TimeSpan string (`[d.]hh:mm:ss[.fffffff]`) or a number of milliseconds. */
export function parseDurationMs(value: string | number, settingName: string): number {
  if (typeof value === 'number') return value;
  const match = TIMESPAN.exec(value.trim());
  if (!match) throw new Error(`host.json ${settingName}: "${value}" is not a timespan like "00:00:30".`);
  const [, days = '0', hours = '0', minutes = '0', seconds = '0', fraction = '0'] = match;
  const fractionMs = Number(`0.${fraction}`) * 1000;
  return (
    ((Number(days) * 24 + Number(hours)) * 60 + Number(minutes)) * 60_000 +
    Number(seconds) * 1000 +
    fractionMs
  );
}

const duration = z.union([z.string(), z.number().nonnegative()]);

const hostJsonSchema = z.looseObject({
  version: z.string().optional(),
  extensions: z
    .looseObject({
      queues: z
        .looseObject({
          batchSize: z.number().int().min(1).max(32).optional(),
          newBatchThreshold: z.number().int().min(0).optional(),
          maxPollingInterval: duration.optional(),
          visibilityTimeout: duration.optional(),
          maxDequeueCount: z.number().int().min(1).optional(),
          messageEncoding: z.enum(['base64', 'none']).optional(),
        })
        .optional(),
      http: z.looseObject({ routePrefix: z.string().optional() }).optional(),
    })
    .optional(),
});

const DEFAULT_BATCH_SIZE = 16;
const DEFAULT_MAX_POLLING_INTERVAL_MS = 60_000;
const DEFAULT_MAX_DEQUEUE_COUNT = 5;

const OVERRIDE_PREFIX = 'AzureFunctionsJobHost__';

/**
 * Applies app settings that override host.json, as the Functions host does: `AzureFunctionsJobHost__`
 * followed by the property path joined with `__`, e.g. `AzureFunctionsJobHost__extensions__queues__batchSize`.
 * Integer-looking values become numbers.
 */
export function withAppSettingOverrides(hostJson: unknown, env: NodeJS.ProcessEnv): unknown {
  const root: Record<string, unknown> =
    typeof hostJson === 'object' && hostJson !== null
      ? structuredClone(hostJson as Record<string, unknown>)
      : {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(OVERRIDE_PREFIX) || value === undefined) continue;
    const path = name.slice(OVERRIDE_PREFIX.length).split('__');
    let node = root;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      node[key] = typeof next === 'object' && next !== null ? next : {};
      node = node[key] as Record<string, unknown>;
    }
    node[path[path.length - 1]!] = /^\d+$/.test(value) ? Number(value) : value;
  }
  return root;
}

/** Reads and validates `<root>/host.json` (absent file = all defaults), with app-setting overrides. */
export async function readHostConfig(root: string): Promise<HostConfig> {
  let raw: unknown = {};
  try {
    raw = JSON.parse(await readFile(join(root, 'host.json'), 'utf8')) as unknown;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const parsed = hostJsonSchema.safeParse(withAppSettingOverrides(raw, process.env));
  if (!parsed.success) throw new Error(`host.json is invalid: ${z.prettifyError(parsed.error)}`);
  const queues = parsed.data.extensions?.queues ?? {};
  const batchSize = queues.batchSize ?? DEFAULT_BATCH_SIZE;
  return {
    queues: {
      batchSize,
      newBatchThreshold: queues.newBatchThreshold ?? Math.floor(batchSize / 2),
      maxPollingIntervalMs: parseDurationMs(
        queues.maxPollingInterval ?? DEFAULT_MAX_POLLING_INTERVAL_MS,
        'extensions.queues.maxPollingInterval',
      ),
      visibilityTimeoutMs: parseDurationMs(
        queues.visibilityTimeout ?? 0,
        'extensions.queues.visibilityTimeout',
      ),
      maxDequeueCount: queues.maxDequeueCount ?? DEFAULT_MAX_DEQUEUE_COUNT,
      messageEncoding: queues.messageEncoding ?? 'base64',
    },
    httpRoutePrefix: (parsed.data.extensions?.http?.routePrefix ?? 'api').replace(/^\/+|\/+$/g, ''),
  };
}
