/** The HTTP functions the project registers, as the local host's loader sees them (one load a process). */
import { fileURLToPath } from 'node:url';

import { loadFunctionApp } from '../../local/host/app-loader.js';
import { applyAppSettings, readLocalSettings } from '../../local/host/app-settings.js';

export interface RegisteredRoute {
  readonly name: string;
  readonly method: string;
  /** Without the `api/` prefix, route constraints and optional marks dropped: `connections/{tenantId}/runs`. */
  readonly route: string;
  readonly authLevel: string;
}

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

export function normalizeRoute(route: string): string {
  return route.replace(/^\/+|\/+$/g, '').replace(/\{\*?([A-Za-z_][A-Za-z0-9_]*)(?::[a-z]+)?\??\}/g, '{$1}');
}

let loaded: Promise<RegisteredRoute[]> | undefined;

/** Every method of every HTTP function of dist/functions/*.js (run `npm run build` first). */
export function registeredRoutes(): Promise<RegisteredRoute[]> {
  loaded ??= (async () => {
    const settings = await readLocalSettings(projectRoot);
    applyAppSettings(settings.values, {});
    const app = await loadFunctionApp(projectRoot);
    return app.functions
      .filter((fn) => fn.triggerType === 'httpTrigger')
      .flatMap((fn) => {
        const trigger = fn.bindings[fn.triggerName]!;
        const methods = (trigger.methods as string[] | undefined) ?? ['GET', 'POST'];
        return methods.map((method) => ({
          name: fn.name,
          method: method.toUpperCase(),
          route: normalizeRoute(typeof trigger.route === 'string' ? trigger.route : fn.name),
          authLevel: typeof trigger.authLevel === 'string' ? trigger.authLevel.toLowerCase() : 'function',
        }));
      });
  })();
  return loaded;
}
