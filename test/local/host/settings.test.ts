import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  applyAppSettings,
  readLocalSettings,
  resolveSettingReferences,
} from '../../../local/host/app-settings.js';
import { parseDurationMs, readHostConfig, withAppSettingOverrides } from '../../../local/host/host-config.js';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'host-settings-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('host.json', () => {
  it('lets AzureFunctionsJobHost__ app settings override host.json values, as the Functions host does', () => {
    const hostJson = {
      version: '2.0',
      extensions: { queues: { batchSize: 16, visibilityTimeout: '00:00:10' } },
    };
    const overridden = withAppSettingOverrides(hostJson, {
      AzureFunctionsJobHost__extensions__queues__batchSize: '4',
      AzureFunctionsJobHost__extensions__queues__visibilityTimeout: '00:00:01',
      AzureFunctionsJobHost__extensions__http__routePrefix: 'x',
      UNRELATED: '1',
    });
    expect(overridden).toEqual({
      version: '2.0',
      extensions: { queues: { batchSize: 4, visibilityTimeout: '00:00:01' }, http: { routePrefix: 'x' } },
    });
    expect(hostJson.extensions.queues.batchSize).toBe(16);
  });

  it('applies the Azure Functions queue defaults when host.json says nothing', async () => {
    await writeFile(join(root, 'host.json'), JSON.stringify({ version: '2.0' }));
    expect(await readHostConfig(root)).toEqual({
      queues: {
        batchSize: 16,
        newBatchThreshold: 8,
        maxPollingIntervalMs: 60_000,
        visibilityTimeoutMs: 0,
        maxDequeueCount: 5,
        messageEncoding: 'base64',
      },
      httpRoutePrefix: 'api',
    });
  });

  it('derives newBatchThreshold from batchSize and reads timespans', async () => {
    const queues = { batchSize: 10, maxPollingInterval: '00:00:02', visibilityTimeout: '00:00:10' };
    await writeFile(
      join(root, 'host.json'),
      JSON.stringify({ extensions: { queues, http: { routePrefix: '' } } }),
    );
    const config = await readHostConfig(root);
    expect(config.queues).toMatchObject({
      newBatchThreshold: 5,
      maxPollingIntervalMs: 2000,
      visibilityTimeoutMs: 10_000,
    });
    expect(config.httpRoutePrefix).toBe('');
  });

  it('refuses a batchSize above 32 with a message naming the setting', async () => {
    await writeFile(join(root, 'host.json'), JSON.stringify({ extensions: { queues: { batchSize: 64 } } }));
    await expect(readHostConfig(root)).rejects.toThrow(/batchSize/);
  });

  it('parses .NET timespans and millisecond numbers', () => {
    expect(parseDurationMs('1.02:03:04.5', 'x')).toBe(((24 + 2) * 3600 + 3 * 60 + 4) * 1000 + 500);
    expect(parseDurationMs(250, 'x')).toBe(250);
    expect(() => parseDurationMs('2 minutes', 'x')).toThrow(/timespan/);
  });
});

describe('local settings', () => {
  it('falls back to local.settings.sample.json and reads Host.LocalHttpPort', async () => {
    const sample = { Values: { A_SETTING: 'sample', A_NUMBER: 3 }, Host: { LocalHttpPort: 7075 } };
    await writeFile(join(root, 'local.settings.sample.json'), JSON.stringify(sample));
    const settings = await readLocalSettings(root);
    expect(settings.values).toEqual({ A_SETTING: 'sample', A_NUMBER: '3' });
    expect(settings.localHttpPort).toBe(7075);
  });

  it('prefers local.settings.json over the sample', async () => {
    await writeFile(join(root, 'local.settings.sample.json'), JSON.stringify({ Values: { X: 'sample' } }));
    await writeFile(join(root, 'local.settings.json'), JSON.stringify({ Values: { X: 'real' } }));
    expect((await readLocalSettings(root)).values).toEqual({ X: 'real' });
  });

  it('does not overwrite variables already set, while explicit overrides win', () => {
    process.env.LH_TEST_EXISTING = 'from-environment';
    delete process.env.LH_TEST_NEW;
    delete process.env.LH_TEST_OVERRIDE;
    applyAppSettings(
      { LH_TEST_EXISTING: 'from-file', LH_TEST_NEW: 'from-file', LH_TEST_OVERRIDE: 'from-file' },
      { LH_TEST_OVERRIDE: 'from-options' },
    );
    expect(process.env.LH_TEST_EXISTING).toBe('from-environment');
    expect(process.env.LH_TEST_NEW).toBe('from-file');
    expect(process.env.LH_TEST_OVERRIDE).toBe('from-options');
  });

  it('resolves %NAME% references and names a missing setting', () => {
    process.env.LH_TEST_QUEUE = 'sync-requests';
    expect(resolveSettingReferences('%LH_TEST_QUEUE%', 'queue')).toBe('sync-requests');
    expect(() => resolveSettingReferences('%LH_TEST_MISSING%', 'queue trigger')).toThrow(/LH_TEST_MISSING/);
  });
});
