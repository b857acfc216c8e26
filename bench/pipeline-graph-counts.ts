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
}

export function graphCountsOf(counters: CountersView): GraphCounts {
  const byRoute: Record<string, number> = {};
  let graph = 0;
  let other = 0;
  for (const [route, count] of Object.entries(counters.requestsByRoute)) {
    const pattern = route.slice(route.indexOf(' ') + 1);
    if (NON_GRAPH_PREFIXES.some((prefix) => pattern.startsWith(prefix))) {
      other += count;
    } else {
      graph += count;
      byRoute[route] = count;
    }
  }
  return {
    graphRequests: graph,
    deltaPages: { ...counters.deltaPagesServed },
    graphRequestsByRoute: byRoute,
    otherRequests: other,
    throttled: counters.throttled,
    unavailable: counters.unavailable,
  };
}
