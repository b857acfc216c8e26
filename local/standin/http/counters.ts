/** Request counters the tests and the bench read through the control API. */
export interface CountersView {
  readonly requestsByRoute: Record<string, number>;
  readonly totalRequests: number;
  readonly deltaPagesServed: { readonly users: number; readonly groups: number };
  readonly throttled: number;
  readonly unavailable: number;
  /** Latency the stand-in added (the fault plan's graphLatency and latency rules), in ms, by route. */
  readonly injectedLatencyMs: { readonly total: number; readonly byRoute: Record<string, number> };
}

export class RequestCounters {
  private byRoute = new Map<string, number>();
  private total = 0;
  private deltaPages = { users: 0, groups: 0 };
  private throttledCount = 0;
  private unavailableCount = 0;
  private latencyByRoute = new Map<string, number>();
  private latencyTotal = 0;

  request(routeKey: string): void {
    this.total++;
    this.byRoute.set(routeKey, (this.byRoute.get(routeKey) ?? 0) + 1);
  }

  deltaPage(resource: 'users' | 'groups'): void {
    this.deltaPages[resource]++;
  }

  throttled(): void {
    this.throttledCount++;
  }

  unavailable(): void {
    this.unavailableCount++;
  }

  latency(routeKey: string, ms: number): void {
    if (ms <= 0) return;
    this.latencyTotal += ms;
    this.latencyByRoute.set(routeKey, (this.latencyByRoute.get(routeKey) ?? 0) + ms);
  }

  view(): CountersView {
    return {
      requestsByRoute: Object.fromEntries(this.byRoute),
      totalRequests: this.total,
      deltaPagesServed: { ...this.deltaPages },
      throttled: this.throttledCount,
      unavailable: this.unavailableCount,
      injectedLatencyMs: { total: this.latencyTotal, byRoute: Object.fromEntries(this.latencyByRoute) },
    };
  }

  reset(): void {
    this.byRoute = new Map();
    this.total = 0;
    this.deltaPages = { users: 0, groups: 0 };
    this.throttledCount = 0;
    this.unavailableCount = 0;
    this.latencyByRoute = new Map();
    this.latencyTotal = 0;
  }
}
