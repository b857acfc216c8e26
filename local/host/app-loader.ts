import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { z } from 'zod';

import { type FunctionRegistry, installCoreApi, type RegisteredFunction } from './core-api.js';
import type { RpcBindingInfo } from './core-api-types.js';
import { expandMainGlob } from './main-glob.js';

/** A function as `@azure/functions` registered it. */
export interface RegisteredFunctionInfo {
  readonly name: string;
  /** The trigger binding's type, e.g. `httpTrigger`, `timerTrigger`, `queueTrigger`. */
  readonly triggerType: string;
  /** The trigger binding's name (the key in `bindings`). */
  readonly triggerName: string;
  /** All bindings by name, exactly as registered (properties such as queueName, schedule, route). */
  readonly bindings: Readonly<Record<string, RpcBindingInfo>>;
}

export interface LoadedFunctionApp {
  /** The files matched by package.json `main`, in the order they were imported. */
  readonly files: readonly string[];
  readonly registry: FunctionRegistry;
  readonly functions: readonly RegisteredFunctionInfo[];
}

const packageJsonSchema = z.looseObject({ main: z.string().min(1) });

/** Reads `<root>/package.json` `main`, the glob over the compiled function files. */
export async function readMainGlob(root: string): Promise<string> {
  const parsed = packageJsonSchema.safeParse(JSON.parse(await readFile(join(root, 'package.json'), 'utf8')));
  if (!parsed.success)
    throw new Error(`${join(root, 'package.json')} has no "main" glob for the function files.`);
  return parsed.data.main;
}

/** Describes a registration: finds its one trigger binding. */
export function describeFunction(registered: RegisteredFunction): RegisteredFunctionInfo {
  const { name, bindings } = registered.metadata;
  const trigger = Object.entries(bindings).find(([, binding]) => /trigger$/i.test(binding.type ?? ''));
  if (!trigger) throw new Error(`Function "${name}" has no trigger binding.`);
  const [triggerName, binding] = trigger;
  return { name, triggerType: binding.type ?? '', triggerName, bindings };
}

/**
 * Installs the core API, then imports every file matched by package.json `main` (or `mainOverride`), so
 * `@azure/functions` registers the app's functions with this process's registry. ESM modules are cached
 * per process: load one function app per process.
 */
export async function loadFunctionApp(root: string, mainOverride?: string): Promise<LoadedFunctionApp> {
  const registry = installCoreApi();
  const main = mainOverride ?? (await readMainGlob(root));
  const files = await expandMainGlob(root, main);
  if (files.length === 0) throw new Error(`package.json main "${main}" matches no file under ${root}.`);
  for (const file of files) await import(pathToFileURL(file).href);
  const functions = [...registry.functions.values()].map(describeFunction);
  return { files, registry, functions };
}
