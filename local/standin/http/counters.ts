/** Request counters the tests and the bench read through the control API. */
export interface CountersView {
  readonly requestsByRoute: Record<string, number>;
  readonly totalRequests: number;
  readonly deltaPagesServed: { readonly users: number; readonly groups: number };
  readonly throttled: number;
  readonly unavailable: number;
}

export class RequestCounters {
  private byRoute = new Map<string, number>();
  private total = 0;
  private deltaPages = { users: 0, groups: 0 };
  private throttledCount = 0;
  private unavailableCount = 0;

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

  view(): CountersView {
    return {
      requestsByRoute: Object.fromEntries(this.byRoute),
      totalRequests: this.total,
      deltaPagesServed: { ...this.deltaPages },
      throttled: this.throttledCount,
      unavailable: this.unavailableCount,
    };
  }

  reset(): void {
    this.byRoute = new Map();
    this.total = 0;
    this.deltaPages = { users: 0, groups: 0 };
    this.throttledCount = 0;
    this.unavailableCount = 0;
  }
}
