/**
 * The latency model is Graph's answer time from the request's arrival: the stand-in's own time making an
 * answer is part of it (so a slow machine does not make Graph look slower), while a `latency` rule's wait
 * is added on top, as the rule says. A pure test of the dispatcher with a clock of its own.
 */
import { describe, expect, it } from 'vitest';

import type { AccessTokenIssuer } from '../../../local/standin/auth/access-tokens.js';
import type { AppRegistration } from '../../../local/standin/auth/app-registration.js';
import { FaultInjector } from '../../../local/standin/faults/fault-plan.js';
import { RequestCounters } from '../../../local/standin/http/counters.js';
import { Dispatcher } from '../../../local/standin/http/dispatcher.js';
import { Router } from '../../../local/standin/http/router.js';

/** A dispatcher whose one Graph route takes `workMs` of the stand-in's time, on a clock the test moves. */
function dispatcherWith(workMs: number, plan: unknown) {
  let clock = 0;
  const slept: number[] = [];
  const graph = new Router();
  graph.add(
    'GET',
    '/users',
    () => {
      clock += workMs;
      return { status: 200, body: { value: [{ id: '1' }, { id: '2' }] } };
    },
    { auth: 'none' },
  );
  const faults = new FaultInjector();
  faults.set(plan);
  const counters = new RequestCounters();
  const dispatcher = new Dispatcher({
    origin: () => 'https://standin.test',
    tenantId: 'tenant',
    // Unused: the route asks for no token.
    app: {} as AppRegistration,
    tokens: {} as AccessTokenIssuer,
    faults,
    counters,
    graph,
    root: new Router(),
    control: new Router(),
    sleep: (ms) => {
      slept.push(ms);
      clock += ms;
      return Promise.resolve();
    },
    now: () => clock,
  });
  const get = async () => {
    const startedAt = clock;
    const result = await dispatcher.dispatch({
      method: 'GET',
      pathAndQuery: '/v1.0/users',
      headers: {},
      rawBody: Buffer.alloc(0),
      inBatch: false,
      fromLoopback: true,
    });
    expect(result.status).toBe(200);
    return { answeredAfterMs: clock - startedAt, slept, counted: counters.view().injectedLatencyMs.total };
  };
  return { get };
}

describe("the stand-in's answer time", () => {
  it("answers a Graph request the model's latency after it came in, its own work included", async () => {
    // 100 + 10 × 2 objects = 120 ms; the answer took the stand-in 30 ms to make.
    const { get } = dispatcherWith(30, { graphLatency: { baseMs: 100, perObjectMs: 10, jitterMs: 0 } });
    expect(await get()).toEqual({ answeredAfterMs: 120, slept: [90], counted: 120 });
  });

  it('sends an answer that took longer than the model at once, and counts the model', async () => {
    const { get } = dispatcherWith(200, { graphLatency: { baseMs: 100, perObjectMs: 10, jitterMs: 0 } });
    expect(await get()).toEqual({ answeredAfterMs: 200, slept: [], counted: 120 });
  });

  it("adds a latency rule's wait on top of the model", async () => {
    const { get } = dispatcherWith(30, {
      graphLatency: { baseMs: 100, perObjectMs: 10, jitterMs: 0 },
      rules: [{ kind: 'latency', latencyMs: 50, route: 'GET /users', everyNth: 1 }],
    });
    expect(await get()).toEqual({ answeredAfterMs: 170, slept: [50, 90], counted: 170 });
  });
});
