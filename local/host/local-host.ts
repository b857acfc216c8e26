import { resolve } from 'node:path';

import type { QueueClient } from '@azure/storage-queue';

import { ensureError } from '../../src/shared/errors.js';
import { type LoadedFunctionApp, loadFunctionApp, type RegisteredFunctionInfo } from './app-loader.js';
import { applyAppSettings, readLocalSettings, resolveSettingReferences } from './app-settings.js';
import { installCoreApi, type RegisteredFunction } from './core-api.js';
import type { RpcInvocationResponse } from './core-api-types.js';
import { FunctionInvoker, type InvocationInput } from './function-invoker.js';
import { parseAuthLevel, resolveFunctionKeys } from './function-keys.js';
import { type HostConfig, readHostConfig } from './host-config.js';
import { type HttpRoute, HttpTriggerServer } from './http-trigger-server.js';
import { HOST_CATEGORY, type HostLogEntry, stdoutJsonLogSink } from './log-sink.js';
import { planOutputBindings, QueueOutputSender } from './output-bindings.js';
import { type QueueAddress, QueueClientPool } from './queue-client-pool.js';
import { poisonQueueNameFor, QueueListener } from './queue-listener.js';
import { compileRouteTemplate } from './route-template.js';
import { resolveQueueName, resolveStorageConnectionString } from './storage-connection.js';
import { TimerTrigger } from './timer-trigger.js';

export type { RegisteredFunctionInfo } from './app-loader.js';
export type { HostLogEntry } from './log-sink.js';

export interface LocalHostOptions {
  /** Folder with package.json, host.json, local.settings(.sample).json. */
  root: string;
  /** 0 = free port; default Host.LocalHttpPort or 7071. */
  httpPort?: number;
  /** Extra settings, win over local.settings.json Values. */
  env?: Record<string, string>;
  log?: (entry: HostLogEntry) => void;
}

export interface LocalHost {
  readonly httpBaseUrl: string;
  readonly functions: readonly RegisteredFunctionInfo[];
  readonly keys: { readonly functionKey: string; readonly masterKey: string };
  /** Stop polling and timers, wait for running invocations to finish, close the HTTP server. */
  stop(): Promise<void>;
}

const DEFAULT_HTTP_PORT = 7071;

type Invoke = (fn: RegisteredFunction, input: InvocationInput) => Promise<RpcInvocationResponse>;

interface TriggerPlan {
  readonly httpRoutes: HttpRoute[];
  readonly listeners: { listener: QueueListener; address: { connectionString: string; queueName: string } }[];
  readonly timers: TimerTrigger[];
}

function planTriggers(
  app: LoadedFunctionApp,
  config: HostConfig,
  pool: QueueClientPool,
  invokeFor: (info: RegisteredFunctionInfo) => Invoke,
  log: (entry: HostLogEntry) => void,
): TriggerPlan {
  const plan: TriggerPlan = { httpRoutes: [], listeners: [], timers: [] };
  for (const info of app.functions) {
    const fn = app.registry.functions.get(info.name);
    const trigger = info.bindings[info.triggerName];
    if (!fn || !trigger) continue;
    const where = `Function "${info.name}" trigger`;
    const invoke = invokeFor(info);
    switch (info.triggerType.toLowerCase()) {
      case 'httptrigger': {
        const methods = Array.isArray(trigger.methods)
          ? trigger.methods.map((m) => String(m).toUpperCase())
          : [];
        plan.httpRoutes.push({
          fn,
          triggerName: info.triggerName,
          template: compileRouteTemplate(typeof trigger.route === 'string' ? trigger.route : info.name),
          methods: methods.length > 0 ? new Set(methods) : undefined,
          authLevel: parseAuthLevel(trigger.authLevel, info.name),
          httpBindingName: planOutputBindings(info).httpBindingName,
          invoke,
        });
        break;
      }
      case 'queuetrigger': {
        const address = {
          connectionString: resolveStorageConnectionString(trigger.connection, where),
          queueName: resolveQueueName(trigger.queueName, where),
        };
        const listener = new QueueListener({
          fn,
          triggerName: info.triggerName,
          queueName: address.queueName,
          queue: pool.client(address),
          poisonQueue: poisonClient(pool, address),
          config: config.queues,
          invoke,
          log,
        });
        plan.listeners.push({ listener, address });
        break;
      }
      case 'timertrigger': {
        if (typeof trigger.schedule !== 'string') throw new Error(`${where} has no schedule.`);
        plan.timers.push(
          new TimerTrigger({
            fn,
            triggerName: info.triggerName,
            schedule: resolveSettingReferences(trigger.schedule, where),
            runOnStartup: trigger.runOnStartup === true,
            timezone: process.env.WEBSITE_TIME_ZONE || 'Etc/UTC',
            invoke,
            log,
          }),
        );
        break;
      }
      default:
        throw new Error(`${where} type "${info.triggerType}" is not supported by the local host.`);
    }
  }
  return plan;
}

/** The client of a trigger queue's poison queue, or undefined when it has none (a `-poison` queue). */
function poisonClient(pool: QueueClientPool, address: QueueAddress): QueueClient | undefined {
  const queueName = poisonQueueNameFor(address.queueName);
  return queueName ? pool.client({ ...address, queueName }) : undefined;
}

/**
 * Starts the local Functions host for the app in `options.root`: applies the app settings, imports the
 * files matched by package.json `main` (so `@azure/functions` registers the functions exactly as in Azure),
 * then serves HTTP triggers, polls queue triggers and schedules timers. One app per process.
 */
export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const root = resolve(options.root);
  const log = options.log ?? stdoutJsonLogSink;
  const registry = installCoreApi();
  registry.setSystemLogHandler((level, category, message) =>
    log({ level, category: `Worker.${category}`, message }),
  );

  const settings = await readLocalSettings(root);
  applyAppSettings(settings.values, options.env ?? {});
  const config = await readHostConfig(root);
  const app = await loadFunctionApp(root);
  const capabilities = (await registry.programmingModel().getCapabilities?.({})) ?? {};
  if (capabilities.HttpUri)
    throw new Error('HTTP streaming (app.setup({ enableHttpStream })) is not supported.');

  const keys = resolveFunctionKeys();
  const appHookData: Record<string, unknown> = {};
  const invoker = new FunctionInvoker(registry, log, appHookData);
  const pool = new QueueClientPool();
  const invokeFor = (info: RegisteredFunctionInfo): Invoke => {
    const outputs = planOutputBindings(info);
    const sender = new QueueOutputSender(pool, config.queues.messageEncoding);
    return async (fn, input) => {
      const outcome = await invoker.invoke(fn, input, (response) => sender.send(outputs.queues, response));
      return outcome.response;
    };
  };
  const plan = planTriggers(app, config, pool, invokeFor, log);

  for (const hook of registry.hooks('appStart'))
    await hook({ hookData: {}, appHookData, functionAppDirectory: root });

  const server = new HttpTriggerServer({
    routes: plan.httpRoutes,
    routePrefix: config.httpRoutePrefix,
    keys,
    log,
  });
  const httpBaseUrl = await server.listen(options.httpPort ?? settings.localHttpPort ?? DEFAULT_HTTP_PORT);
  const unwatch: (() => void)[] = [];
  try {
    for (const { listener, address } of plan.listeners) {
      await pool.existing(address);
      const poisonQueueName = poisonQueueNameFor(address.queueName);
      if (poisonQueueName) await pool.existing({ ...address, queueName: poisonQueueName });
      unwatch.push(pool.watch(address, () => listener.wake()));
    }
  } catch (error) {
    await server.close();
    throw new Error(`Creating the trigger queues failed: ${ensureError(error).message}`);
  }
  plan.listeners.forEach(({ listener }) => listener.start());
  plan.timers.forEach((timer) => timer.start());
  log({
    level: 'information',
    category: HOST_CATEGORY.startup,
    message: `Host started (${app.functions.length} functions: ${app.functions
      .map((f) => `${f.name} [${f.triggerType}]`)
      .join(', ')}); HTTP on ${httpBaseUrl}`,
  });

  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    server.stopAccepting();
    unwatch.forEach((remove) => remove());
    await Promise.all([
      ...plan.timers.map((timer) => timer.stop()),
      ...plan.listeners.map(({ listener }) => listener.stop()),
    ]);
    await invoker.drain();
    for (const hook of registry.hooks('appTerminate')) await hook({ hookData: {}, appHookData });
    await server.close();
    log({ level: 'information', category: HOST_CATEGORY.startup, message: 'Host stopped.' });
  };
  return {
    httpBaseUrl,
    functions: app.functions,
    keys,
    stop: () => (stopping ??= stop()),
  };
}
