/**
 * The fault plan: seeded, deterministic decisions about which requests are throttled, refused or slowed,
 * plus delta-round behaviour (empty pages, replayed duplicates, token expiry, failing after N pages) and the
 * dropped-notification rate read by the subscriptions plug-in.
 */
import { z } from 'zod';

import { SeededRandom } from '../tenant/seeded-random.js';

const faultRuleSchema = z
  .object({
    /** `*` (default), a pattern (`/users/delta`) or method + pattern (`GET /users/delta`); token and control routes included. */
    route: z.string().default('*'),
    kind: z.enum(['throttle', 'throttleWithoutRetryAfter', 'unavailable', 'latency']),
    /** Probability in [0, 1] that a matching request is hit (seeded). */
    probability: z.number().min(0).max(1).optional(),
    /** Hit every Nth matching request (1 = every request). */
    everyNth: z.number().int().positive().optional(),
    /** Only inner requests of a `$batch` (`true`) or only top-level requests (`false`); both when absent. */
    inBatch: z.boolean().optional(),
    /** Stop after this many hits. */
    maxHits: z.number().int().positive().optional(),
    /** `Retry-After` seconds for throttles (fractional allowed, as Graph sends `2.128`). */
    retryAfterSeconds: z.number().nonnegative().default(1),
    latencyMs: z.number().int().nonnegative().default(0),
  })
  .refine((r) => r.probability !== undefined || r.everyNth !== undefined, {
    message: 'A fault rule needs probability or everyNth.',
  });

export const deltaBehaviourSchema = z.object({
  /** Serve an empty page (value: [], with a nextLink) before every Nth page of a round. */
  emptyPageEvery: z.number().int().positive().optional(),
  /** Share (0..1) of a round's changed objects that are sent again on a later page of the same round. */
  replayDuplicatesRate: z.number().min(0).max(1).optional(),
  /** Maximum age of a delta/skip token before it expires (Graph: 7 days). */
  tokenMaxAgeSeconds: z.number().nonnegative().optional(),
  /** How an expired token is refused. */
  expiredTokenResponse: z.enum(['gone', 'syncStateNotFound', 'resyncRequired']).optional(),
  /** After this many delta pages (counted from when the plan was set), the next `failCount` page requests fail. */
  failAfterPages: z.number().int().nonnegative().optional(),
  failCount: z.number().int().positive().optional(),
  failStatus: z.union([z.literal(429), z.literal(500), z.literal(503)]).optional(),
  /** Resource the page failure applies to (both when absent). */
  failResource: z.enum(['users', 'groups']).optional(),
});

/**
 * The `realistic` preset: a full users delta page (200 users) answers in 270 ms ± 50 (220–320 ms), an empty
 * page in 100–200 ms, `GET /users?$top=999` in about 750 ms. Microsoft publishes no latency figures for Graph;
 * these reproduce the ~200–350 ms a delta page that is reported for it (see local/README.md).
 */
export const REALISTIC_GRAPH_LATENCY = { baseMs: 150, perObjectMs: 0.6, jitterMs: 50 } as const;

const latencyModelSchema = z.object({
  /** Every request's share. */
  baseMs: z.number().nonnegative(),
  /** Per object on the page: each item of `value` and each reference in its `members@delta` (1 for an entity). */
  perObjectMs: z.number().nonnegative().default(0),
  /** Uniform in [−jitterMs, +jitterMs], drawn from the plan's seed (never below 0 in all). */
  jitterMs: z.number().nonnegative().default(0),
});

/** `none` (default), `realistic`, or a model of its own; resolved to the numbers (null for none). */
const graphLatencySchema = z
  .union([z.enum(['none', 'realistic']), latencyModelSchema])
  .default('none')
  .transform((value) =>
    value === 'none' ? null : value === 'realistic' ? { ...REALISTIC_GRAPH_LATENCY } : value,
  );

export const faultPlanSchema = z.object({
  seed: z.number().int().default(1),
  rules: z.array(faultRuleSchema).default([]),
  delta: deltaBehaviourSchema.default({}),
  /**
   * Latency of every top-level Graph request (not the token endpoint, Key Vault or the control API; a
   * `$batch` costs one request, its inner requests nothing more): baseMs + perObjectMs × objects ± jitterMs.
   */
  graphLatency: graphLatencySchema,
  /** Share (0..1) of change notifications the subscriptions plug-in drops. */
  droppedNotificationRate: z.number().min(0).max(1).default(0),
});

export type FaultRule = z.infer<typeof faultRuleSchema>;
export type FaultPlan = z.infer<typeof faultPlanSchema>;
export type FaultPlanInput = z.input<typeof faultPlanSchema>;
export type DeltaBehaviour = z.infer<typeof deltaBehaviourSchema>;
export type GraphLatencyModel = z.infer<typeof latencyModelSchema>;

/** Keeps the latency draws apart from the other seeded decisions: adding latency changes no throttle. */
const LATENCY_SEED_SALT = 0x1a7e;

export type FaultDecision =
  | { readonly kind: 'none'; readonly latencyMs: number }
  | { readonly kind: 'throttle'; readonly retryAfterSeconds: number | null; readonly latencyMs: number }
  | { readonly kind: 'unavailable'; readonly latencyMs: number };

export interface FaultRequestInfo {
  readonly method: string;
  readonly pattern: string;
  readonly inBatch: boolean;
}

/** The live plan with its seeded state (hit counters per rule). */
export class FaultInjector {
  private plan: FaultPlan = faultPlanSchema.parse({});
  private random = new SeededRandom(1);
  private latencyRandom = new SeededRandom(1 ^ LATENCY_SEED_SALT);
  private matchCounts: number[] = [];
  private hitCounts: number[] = [];
  private deltaPagesSincePlan = 0;
  private deltaFailuresServed = 0;

  get current(): FaultPlan {
    return this.plan;
  }

  get droppedNotificationRate(): number {
    return this.plan.droppedNotificationRate;
  }

  get delta(): DeltaBehaviour {
    return this.plan.delta;
  }

  set(input: unknown): FaultPlan {
    this.plan = faultPlanSchema.parse(input);
    this.random = new SeededRandom(this.plan.seed);
    this.latencyRandom = new SeededRandom(this.plan.seed ^ LATENCY_SEED_SALT);
    this.matchCounts = this.plan.rules.map(() => 0);
    this.hitCounts = this.plan.rules.map(() => 0);
    this.deltaPagesSincePlan = 0;
    this.deltaFailuresServed = 0;
    return this.plan;
  }

  clear(): void {
    this.set({});
  }

  /** A seeded draw for plug-ins (e.g. whether to drop a notification). */
  draw(): number {
    return this.random.next();
  }

  decide(request: FaultRequestInfo): FaultDecision {
    let latencyMs = 0;
    for (let i = 0; i < this.plan.rules.length; i++) {
      const rule = this.plan.rules[i]!;
      if (!ruleMatches(rule, request)) continue;
      const count = ++this.matchCounts[i]!;
      if (rule.maxHits !== undefined && this.hitCounts[i]! >= rule.maxHits) continue;
      const hit =
        rule.everyNth !== undefined
          ? count % rule.everyNth === 0
          : this.random.next() < (rule.probability ?? 0);
      if (!hit) continue;
      this.hitCounts[i]!++;
      if (rule.kind === 'latency') {
        latencyMs += rule.latencyMs;
        continue;
      }
      if (rule.kind === 'unavailable') return { kind: 'unavailable', latencyMs: latencyMs + rule.latencyMs };
      return {
        kind: 'throttle',
        retryAfterSeconds: rule.kind === 'throttle' ? rule.retryAfterSeconds : null,
        latencyMs: latencyMs + rule.latencyMs,
      };
    }
    return { kind: 'none', latencyMs };
  }

  /** The latency model's delay (whole ms) for a top-level Graph answer carrying `objects` objects. */
  graphLatencyMs(objects: number): number {
    const model = this.plan.graphLatency;
    if (!model) return 0;
    const jitter = model.jitterMs > 0 ? (this.latencyRandom.next() * 2 - 1) * model.jitterMs : 0;
    return Math.max(0, Math.round(model.baseMs + model.perObjectMs * objects + jitter));
  }

  /** Called before serving a delta page: the status to fail it with, if the plan says this page fails. */
  deltaPageFailure(resource: 'users' | 'groups'): number | undefined {
    const d = this.plan.delta;
    if (d.failAfterPages === undefined) return undefined;
    if (d.failResource !== undefined && d.failResource !== resource) return undefined;
    if (this.deltaPagesSincePlan >= d.failAfterPages && this.deltaFailuresServed < (d.failCount ?? 1)) {
      this.deltaFailuresServed++;
      return d.failStatus ?? 503;
    }
    return undefined;
  }

  /** Called after a delta page was served. */
  deltaPageServed(resource: 'users' | 'groups'): void {
    const d = this.plan.delta;
    if (d.failResource === undefined || d.failResource === resource) this.deltaPagesSincePlan++;
  }
}

function ruleMatches(rule: FaultRule, request: FaultRequestInfo): boolean {
  if (rule.inBatch !== undefined && rule.inBatch !== request.inBatch) return false;
  if (rule.route === '*') return true;
  const spaced = rule.route.trim().split(/\s+/);
  const [method, pattern] = spaced.length === 2 ? [spaced[0]!, spaced[1]!] : [undefined, spaced[0]!];
  if (method !== undefined && method.toUpperCase() !== request.method.toUpperCase()) return false;
  return pattern.toLowerCase() === request.pattern.toLowerCase();
}
