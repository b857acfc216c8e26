import { createRequire } from 'node:module';

import type {
  Disposable,
  FunctionCallback,
  FunctionMetadata,
  HookCallback,
  ProgrammingModel,
  RpcLogCategory,
  RpcLogLevel,
} from './core-api-types.js';

/** The module name `@azure/functions` requires to find the worker (see its `tryGetCoreApiLazy`). */
export const CORE_MODULE_NAME = '@azure/functions-core';

/** The Functions host version this local host reports (the 4.x line `@azure/functions` v4 requires). */
export const LOCAL_HOST_VERSION = '4.1040.0';

export interface RegisteredFunction {
  readonly metadata: FunctionMetadata;
  readonly callback: FunctionCallback;
}

export type SystemLogHandler = (level: RpcLogLevel, category: RpcLogCategory, message: string) => void;

/** What the functions registered in this process: filled by `@azure/functions` while the app is imported. */
export interface FunctionRegistry {
  readonly functions: ReadonlyMap<string, RegisteredFunction>;
  programmingModel(): ProgrammingModel;
  hooks(hookName: string): readonly HookCallback[];
  /** Where the library's own system logs go (set by the host once it knows its log sink). */
  setSystemLogHandler(handler: SystemLogHandler): void;
}

class CallbackDisposable implements Disposable {
  #onDispose: (() => void) | undefined;

  constructor(onDispose: () => void) {
    this.#onDispose = onDispose;
  }

  static from(...items: { dispose: () => unknown }[]): CallbackDisposable {
    return new CallbackDisposable(() => items.forEach((item) => item.dispose()));
  }

  dispose(): void {
    this.#onDispose?.();
    this.#onDispose = undefined;
  }
}

interface ModuleInternals {
  _load: (this: unknown, request: string, parent: unknown, isMain: boolean) => unknown;
}

let installed: FunctionRegistry | undefined;

/**
 * Makes `require('@azure/functions-core')` return this host's core API, the way the Node.js worker does by
 * intercepting `Module._load`. Must run before any function file is imported. Idempotent: one process
 * hosts one function app, so there is one registry per process.
 */
export function installCoreApi(): FunctionRegistry {
  if (installed) return installed;
  const functions = new Map<string, RegisteredFunction>();
  const hooks = new Map<string, HookCallback[]>();
  let model: ProgrammingModel | undefined;
  let systemLog: SystemLogHandler = () => undefined;

  const coreApi = {
    version: LOCAL_HOST_VERSION,
    hostVersion: LOCAL_HOST_VERSION,
    Disposable: CallbackDisposable,
    registerFunction(metadata: FunctionMetadata, callback: FunctionCallback): Disposable {
      if (functions.has(metadata.name)) {
        throw new Error(`A function with the name "${metadata.name}" has already been registered.`);
      }
      functions.set(metadata.name, { metadata, callback });
      return new CallbackDisposable(() => functions.delete(metadata.name));
    },
    registerHook(hookName: string, callback: HookCallback): Disposable {
      const list = hooks.get(hookName) ?? [];
      list.push(callback);
      hooks.set(hookName, list);
      return new CallbackDisposable(() => {
        const index = list.indexOf(callback);
        if (index >= 0) list.splice(index, 1);
      });
    },
    setProgrammingModel(programmingModel: ProgrammingModel): void {
      model = programmingModel;
    },
    getProgrammingModel(): ProgrammingModel {
      if (!model) throw new Error('No programming model was set: is "@azure/functions" v4 used by the app?');
      return model;
    },
    log(level: RpcLogLevel, category: RpcLogCategory, message: string): void {
      systemLog(level, category, message);
    },
  };

  const moduleInternals = createRequire(import.meta.url)('node:module') as ModuleInternals;
  const originalLoad = moduleInternals._load;
  moduleInternals._load = function load(this: unknown, request: string, parent: unknown, isMain: boolean) {
    if (request === CORE_MODULE_NAME) return coreApi;
    return originalLoad.call(this, request, parent, isMain);
  };

  installed = {
    functions,
    programmingModel: () => coreApi.getProgrammingModel(),
    hooks: (hookName) => hooks.get(hookName) ?? [],
    setSystemLogHandler(handler) {
      systemLog = handler;
    },
  };
  return installed;
}
