import { fileURLToPath } from 'node:url';

import { beforeAll, describe, expect, it } from 'vitest';

import { type LoadedFunctionApp, loadFunctionApp } from '../../../local/host/app-loader.js';
import {
  applyAppSettings,
  readLocalSettings,
  resolveSettingReferences,
} from '../../../local/host/app-settings.js';
import { planOutputBindings } from '../../../local/host/output-bindings.js';
import { compileRouteTemplate } from '../../../local/host/route-template.js';
import { parseNcrontab } from '../../../local/host/timer-trigger.js';

/** The project itself: package.json `main` is `dist/functions/*.js` (run `npm run build` first). */
const projectRoot = fileURLToPath(new URL('../../..', import.meta.url));

let app: LoadedFunctionApp;

beforeAll(async () => {
  const settings = await readLocalSettings(projectRoot);
  applyAppSettings(settings.values, {});
  app = await loadFunctionApp(projectRoot);
});

describe("the project's function app, loaded through the host's loader", () => {
  it('imports the compiled function files matched by package.json main and registers functions', () => {
    expect(app.files.length).toBeGreaterThan(0);
    expect(app.files.every((file) => /[/\\]dist[/\\]functions[/\\][^/\\]+\.js$/.test(file))).toBe(true);
    expect(app.functions.length).toBeGreaterThan(0);
    expect(new Set(app.functions.map((f) => f.name)).size).toBe(app.functions.length);
  });

  it('gives every function a trigger the local host runs, and bindings it supports', () => {
    for (const fn of app.functions) {
      expect(['httpTrigger', 'queueTrigger', 'timerTrigger'], fn.name).toContain(fn.triggerType);
      expect(() => planOutputBindings(fn), fn.name).not.toThrow();
    }
  });

  it('names a queue in every queue trigger', () => {
    for (const fn of app.functions.filter((f) => f.triggerType === 'queueTrigger')) {
      const { queueName } = fn.bindings[fn.triggerName]!;
      expect(
        typeof queueName === 'string' ? resolveSettingReferences(queueName, fn.name) : '',
        fn.name,
      ).toMatch(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/);
    }
  });

  it('gives every timer a six-field NCRONTAB schedule that croner accepts', () => {
    for (const fn of app.functions.filter((f) => f.triggerType === 'timerTrigger')) {
      const { schedule } = fn.bindings[fn.triggerName]!;
      expect(typeof schedule, fn.name).toBe('string');
      const resolved = resolveSettingReferences(schedule as string, fn.name);
      expect(resolved.trim().split(/\s+/), fn.name).toHaveLength(6);
      expect(parseNcrontab(resolved).nextRun(), fn.name).toBeInstanceOf(Date);
    }
  });

  it('gives every HTTP function a route that compiles', () => {
    for (const fn of app.functions.filter((f) => f.triggerType === 'httpTrigger')) {
      const { route } = fn.bindings[fn.triggerName]!;
      expect(typeof route === 'string' && route !== '', fn.name).toBe(true);
      expect(() => compileRouteTemplate(route as string), fn.name).not.toThrow();
    }
  });

  it('registers health exactly: anonymous GET on route health, HTTP response as return value', () => {
    const health = app.functions.find((f) => f.name === 'health');
    expect(health?.triggerType).toBe('httpTrigger');
    expect(health?.bindings).toEqual({
      [health!.triggerName]: {
        name: health!.triggerName,
        type: 'httpTrigger',
        direction: 'in',
        authLevel: 'anonymous',
        methods: ['GET'],
        route: 'health',
        properties: { supportsDeferredBinding: 'false' },
      },
      $return: { name: expect.any(String) as string, type: 'http', direction: 'out' },
    });
  });

  it('registers the pipeline: the functions, their triggers, queues, schedule and routes', () => {
    const summary = Object.fromEntries(
      app.functions.map((fn) => {
        const trigger = fn.bindings[fn.triggerName]!;
        const detail =
          fn.triggerType === 'queueTrigger'
            ? trigger.queueName
            : fn.triggerType === 'timerTrigger'
              ? trigger.schedule
              : `${String(trigger.authLevel)} ${(trigger.methods as string[]).join(',')} ${String(trigger.route)}`;
        return [fn.name, `${fn.triggerType} ${String(detail)}`];
      }),
    );
    expect(summary).toEqual({
      health: 'httpTrigger anonymous GET health',
      scheduler: 'timerTrigger 0 * * * * *',
      fetch: 'queueTrigger sync-requests',
      reconcile: 'queueTrigger directory-changes',
      finalize: 'queueTrigger run-events',
      'drain-poison': 'timerTrigger */5 * * * * *',
      watchdog: 'timerTrigger */2 * * * * *',
      'sync-now': 'httpTrigger function POST connections/{tenantId}/sync',
      runs: 'httpTrigger function GET connections/{tenantId}/runs',
      notifications: 'httpTrigger anonymous POST notifications',
      'notifications-lifecycle': 'httpTrigger anonymous POST notifications/lifecycle',
      'subscriptions-renewal': 'timerTrigger */5 * * * * *',
      subscriptions: 'httpTrigger function GET,POST connections/{tenantId}/subscriptions',
      photos: 'queueTrigger photo-requests',
      'security-attributes': 'queueTrigger security-attribute-requests',
      'run-notifications': 'queueTrigger run-notifications',
      'pass-scheduler': 'timerTrigger 30 * * * * *',
      'person-photo': 'httpTrigger function GET people/{personId}/photo',
      'settings-get': 'httpTrigger function GET connections/{tenantId}/settings',
      'settings-put': 'httpTrigger function PUT connections/{tenantId}/settings',
      'settings-history': 'httpTrigger function GET connections/{tenantId}/settings/history',
      'settings-rollback': 'httpTrigger function POST connections/{tenantId}/settings/rollback',
      'settings-preview': 'httpTrigger function POST connections/{tenantId}/settings/preview',
      'people-list': 'httpTrigger function GET people',
      'people-create': 'httpTrigger function POST people',
      'person-get': 'httpTrigger function GET people/{personId}',
      'person-patch': 'httpTrigger function PATCH people/{personId}',
      'person-history': 'httpTrigger function GET people/{personId}/history',
      teams: 'httpTrigger function GET,POST teams',
      'custom-properties': 'httpTrigger function GET,PUT custom-properties',
      disputes: 'httpTrigger function GET connections/{tenantId}/disputes',
      'dispute-resolve': 'httpTrigger function POST connections/{tenantId}/disputes/{id}',
      'approve-held-run': 'httpTrigger function POST connections/{tenantId}/runs/{runId}/approve',
      'reject-held-run': 'httpTrigger function POST connections/{tenantId}/runs/{runId}/reject',
      status: 'httpTrigger function GET connections/{tenantId}/status',
      openapi: 'httpTrigger anonymous GET openapi.json',
      run: 'httpTrigger function GET connections/{tenantId}/runs/{runId}',
      'tenant-errors': 'httpTrigger function GET tenant-errors',
      'events-read': 'httpTrigger function GET events',
      'events-dead-letters': 'httpTrigger function GET events/dead-letters',
      'events-replay': 'httpTrigger function POST events/replay',
      'events-delivery': 'timerTrigger */2 * * * * *',
      'events-retention': 'timerTrigger 0 17 * * * *',
      connect: 'httpTrigger function GET connect',
      'connect-callback': 'httpTrigger anonymous GET connect/callback',
      disconnect: 'httpTrigger function DELETE connections/{tenantId}',
    });
    for (const fn of app.functions.filter((f) => f.triggerType === 'queueTrigger')) {
      expect(fn.bindings[fn.triggerName]!.connection, fn.name).toBe('AzureWebJobsStorage');
    }
  });
});
