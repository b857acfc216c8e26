/**
 * The Graph latency model of the fault plan (`graphLatency`): each top-level Graph request answers after
 * baseMs + perObjectMs × objects on the page (± jitterMs, seeded), the stand-in counts what it injected per
 * route, the `realistic` preset puts a full users delta page in the ~200–350 ms reported for Graph, and
 * nothing is injected by default. Plus the bench's reading of those counters (`graphBoundSeconds`).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { graphCountsOf } from '../../../bench/pipeline-graph-counts.js';
import { type CountersView, type RunningStandin, startStandin } from '../../../local/standin/index.js';
import { graphToken, rawCall } from './standin-test-clients.js';

interface Page {
  '@odata.nextLink'?: string;
  '@odata.deltaLink'?: string;
  value: Array<Record<string, unknown>>;
}

let standin: RunningStandin;
let token: string;

const get = (path: string) => rawCall(standin, token, 'GET', path);
const injected = (route: string): number => standin.control.counters().injectedLatencyMs.byRoute[route] ?? 0;

/** Walks a delta round, returning each page with the latency the stand-in injected for it and the wall time. */
async function walk(
  first: string,
  route: string,
): Promise<Array<{ page: Page; ms: number; wallMs: number }>> {
  const pages: Array<{ page: Page; ms: number; wallMs: number }> = [];
  let url: string | undefined = first;
  while (url) {
    const before = injected(route);
    const started = performance.now();
    const actual = await get(url);
    const wallMs = performance.now() - started;
    expect(actual.status).toBe(200);
    const page = actual.body as Page;
    pages.push({ page, ms: injected(route) - before, wallMs });
    url = page['@odata.nextLink'];
  }
  return pages;
}

beforeAll(async () => {
  standin = await startStandin({
    users: 150,
    groups: 12,
    seed: 13,
    deltaPageSize: 50,
    groupDeltaPageBudget: 40,
  });
  token = await graphToken(standin);
});
afterAll(async () => {
  await standin.stop();
});
beforeEach(() => {
  standin.control.clearFaults();
  standin.control.resetCounters();
});

describe('Graph latency model (fault plan graphLatency)', () => {
  it('injects nothing by default: a whole delta round, counters at 0 ms', async () => {
    expect(standin.control.faults().graphLatency).toBeNull();
    const pages = await walk('/users/delta?$select=displayName,manager', 'GET /users/delta');
    expect(pages.length).toBeGreaterThan(1);
    expect(standin.control.counters().injectedLatencyMs).toEqual({ total: 0, byRoute: {} });
  });

  it('delays each users delta page by baseMs + perObjectMs × its users, and counts exactly that', async () => {
    standin.control.setFaults({ graphLatency: { baseMs: 20, perObjectMs: 0.4, jitterMs: 0 } });
    const pages = await walk('/users/delta?$select=displayName,manager', 'GET /users/delta');
    for (const { page, ms, wallMs } of pages) {
      expect(ms).toBe(Math.round(20 + 0.4 * page.value.length));
      expect(wallMs).toBeGreaterThanOrEqual(ms - 1);
    }
    expect(pages[0]!.ms).toBe(40); // 50 users
    const total = pages.reduce((sum, p) => sum + p.ms, 0);
    expect(standin.control.counters().injectedLatencyMs).toEqual({
      total,
      byRoute: { 'GET /users/delta': total },
    });
  });

  it("counts a groups delta page's member references as objects, as the page budget does", async () => {
    standin.control.setFaults({ graphLatency: { baseMs: 10, perObjectMs: 1, jitterMs: 0 } });
    const pages = await walk('/groups/delta?$select=displayName,members', 'GET /groups/delta');
    for (const { page, ms } of pages) {
      const objects = page.value.reduce(
        (n, group) => n + 1 + ((group['members@delta'] as unknown[] | undefined)?.length ?? 0),
        0,
      );
      expect(ms).toBe(10 + objects);
    }
    expect(pages.some(({ ms }) => ms > 30)).toBe(true);
  });

  it('draws jitter from the plan seed: same seed, same latencies; another seed, others; all within ±jitterMs', async () => {
    const latencies = async (seed: number): Promise<number[]> => {
      standin.control.setFaults({ seed, graphLatency: { baseMs: 8, perObjectMs: 0, jitterMs: 6 } });
      const out: number[] = [];
      for (let i = 0; i < 12; i++) {
        const before = injected('GET /users');
        expect((await get('/users?$top=1&$select=id')).status).toBe(200);
        out.push(injected('GET /users') - before);
      }
      return out;
    };
    const first = await latencies(3);
    expect(await latencies(3)).toEqual(first);
    expect(await latencies(4)).not.toEqual(first);
    for (const ms of first) {
      expect(ms).toBeGreaterThanOrEqual(2);
      expect(ms).toBeLessThanOrEqual(14);
    }
    expect(new Set(first).size).toBeGreaterThan(1);
  });

  it('realistic: a full 200-user delta page answers in 200–350 ms, a deltaLink with no changes in less', async () => {
    const big = await startStandin({ users: 400, groups: 5, seed: 2, faults: { graphLatency: 'realistic' } });
    try {
      expect(big.control.faults().graphLatency).toEqual({ baseMs: 150, perObjectMs: 0.6, jitterMs: 50 });
      const bigToken = await graphToken(big);
      const counters = (): CountersView => big.control.counters();
      const started = performance.now();
      const first = (await rawCall(big, bigToken, 'GET', '/users/delta?$select=displayName,manager'))
        .body as Page;
      const wallMs = performance.now() - started;
      const firstMs = counters().injectedLatencyMs.total;
      expect(first.value).toHaveLength(200);
      expect(firstMs).toBeGreaterThanOrEqual(200);
      expect(firstMs).toBeLessThanOrEqual(350);
      expect(wallMs).toBeGreaterThanOrEqual(firstMs - 1);
      const second = (await rawCall(big, bigToken, 'GET', first['@odata.nextLink']!)).body as Page;
      const before = counters().injectedLatencyMs.total;
      await rawCall(big, bigToken, 'GET', second['@odata.deltaLink']!);
      const emptyMs = counters().injectedLatencyMs.total - before;
      expect(emptyMs).toBeGreaterThanOrEqual(100);
      expect(emptyMs).toBeLessThanOrEqual(200);
    } finally {
      await big.stop();
    }
  });

  it('is part of the plan: clearFaults() removes it, PUT /faults sets it over HTTP', async () => {
    standin.control.setFaults({ graphLatency: 'realistic' });
    standin.control.clearFaults();
    expect(standin.control.faults().graphLatency).toBeNull();
    const response = await fetch(`${standin.controlUrl}/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ graphLatency: { baseMs: 5 } }),
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { graphLatency: unknown }).graphLatency).toEqual({
      baseMs: 5,
      perObjectMs: 0,
      jitterMs: 0,
    });
    const refused = await fetch(`${standin.controlUrl}/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ graphLatency: 'slow' }),
    });
    expect(refused.status).toBe(400);
  });
});

describe("the bench's graph-bound seconds", () => {
  it('are the latency injected on Graph routes, token and Key Vault routes left out', () => {
    const counters: CountersView = {
      requestsByRoute: {
        'GET /users/delta': 3,
        'GET /groups/delta': 1,
        'POST /{tenant}/oauth2/v2.0/token': 1,
      },
      totalRequests: 5,
      deltaPagesServed: { users: 3, groups: 1 },
      throttled: 0,
      unavailable: 0,
      injectedLatencyMs: {
        total: 1400,
        byRoute: {
          'GET /users/delta': 810,
          'GET /groups/delta': 290,
          'POST /{tenant}/oauth2/v2.0/token': 200,
          'GET /secrets/{name}': 100,
        },
      },
    };
    const counts = graphCountsOf(counters);
    expect(counts.graphLatencySeconds).toBe(1.1);
    expect(counts.graphLatencySecondsByRoute).toEqual({
      'GET /users/delta': 0.81,
      'GET /groups/delta': 0.29,
    });
  });
});
