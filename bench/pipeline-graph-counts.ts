/**
 * Which of the stand-in's counted requests are Microsoft Graph requests. The stand-in counts every
 * request it routes (control routes excepted) by `METHOD pattern`; Graph routes are registered under
 * `/v1.0` and counted without that prefix, while the token endpoint, authority discovery and Key Vault
 * live at the host's root. `$batch` inner requests are dispatched (and counted) one by one as well as
 * the envelope; the pipeline sends none today.
 */
import type { CountersView } from '../local/standin/index.js';

/** Route patterns served at the stand-in's root: Entra (token, discovery) and Key Vault. */
const NON_GRAPH_PREFIXES = ['/{tenant}/', '/common/', '/secrets', '/deletedsecrets'];

export interface GraphCounts {
  /** Graph requests (every Graph route; token, discovery, Key Vault and control excluded). */
  readonly graphRequests: number;
  /** Delta pages the stand-in served (users + groups): the least a round could have asked for. */
  readonly deltaPages: { readonly users: number; readonly groups: number };
  readonly graphRequestsByRoute: Record<string, number>;
  /** Token, discovery and Key Vault requests. */
  readonly otherRequests: number;
  readonly throttled: number;
  readonly unavailable: number;
  /**
   * Seconds of latency the stand-in injected into Graph requests (its latency model and latency rules). The
   * fetch sends its Graph requests one after another, so this is the time Graph alone puts on its path.
   */
  readonly graphLatencySeconds: number;
  readonly graphLatencySecondsByRoute: Record<string, number>;
}

const isGraphRoute = (route: string): boolean => {
  const pattern = route.slice(route.indexOf(' ') + 1);
  return !NON_GRAPH_PREFIXES.some((prefix) => pattern.startsWith(prefix));
};

export function graphCountsOf(counters: CountersView): GraphCounts {
  const byRoute: Record<string, number> = {};
  let graph = 0;
  let other = 0;
  for (const [route, count] of Object.entries(counters.requestsByRoute)) {
    if (isGraphRoute(route)) {
      graph += count;
      byRoute[route] = count;
    } else {
      other += count;
    }
  }
  const latencyByRoute: Record<string, number> = {};
  let latencyMs = 0;
  for (const [route, ms] of Object.entries(counters.injectedLatencyMs.byRoute)) {
    if (!isGraphRoute(route)) continue;
    latencyMs += ms;
    latencyByRoute[route] = ms / 1000;
  }
  return {
    graphRequests: graph,
    deltaPages: { ...counters.deltaPagesServed },
    graphRequestsByRoute: byRoute,
    otherRequests: other,
    throttled: counters.throttled,
    unavailable: counters.unavailable,
    graphLatencySeconds: latencyMs / 1000,
    graphLatencySecondsByRoute: latencyByRoute,
  };
}
