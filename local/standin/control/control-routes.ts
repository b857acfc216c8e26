/** The control API over HTTP under `/_standin/…` (JSON, no auth, loopback callers only). */
import { z } from 'zod';

import { faultPlanSchema } from '../faults/fault-plan.js';
import type { RouteTable, StandinRequest, StandinResponse } from '../http/route-table.js';
import type { MailOutbox } from '../mail/index.js';
import type { SubscriptionService } from '../subscriptions/index.js';
import { TenantError } from '../tenant/tenant-store.js';
import { operationSchema } from './operations.js';
import type { StandinControl } from './standin-control.js';

export interface ControlRouteDeps {
  readonly control: StandinControl;
  readonly outbox: MailOutbox;
  readonly subscriptions: SubscriptionService;
  readonly info: () => Record<string, string>;
}

const bulkSchema = z.object({ operations: z.array(operationSchema) });
const permissionsSchema = z.object({ permissions: z.array(z.string()) });
const clockSchema = z.object({ advanceMs: z.number().nonnegative() });
const consentSchema = z.discriminatedUnion('answer', [
  z.object({ answer: z.literal('accept'), grant: z.array(z.string()).optional() }),
  z.object({ answer: z.literal('decline') }),
  z.object({ answer: z.literal('consent-required') }),
]);
const pageSizeSchema = z.object({
  users: z.number().int().positive(),
  groupBudget: z.number().int().positive().optional(),
});
const lifecycleSchema = z.object({
  // Graph sends users and groups subscriptions no other lifecycle event.
  event: z.enum(['reauthorizationRequired']),
});

function parseBody<T>(schema: z.ZodType<T>, req: StandinRequest): T {
  const parsed = schema.safeParse(req.body);
  if (!parsed.success)
    throw new TenantError(400, 'BadRequest', `Invalid control request: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

const ok = (body: unknown = { ok: true }): StandinResponse => ({ status: 200, body });

export function registerControlRoutes(routes: RouteTable, deps: ControlRouteDeps): void {
  const { control } = deps;
  routes.add('GET', '/info', () => ok(deps.info()));
  routes.add('GET', '/snapshot', () => ok(control.snapshot()));
  routes.add('GET', '/counters', () => ok(control.counters()));
  routes.add('DELETE', '/counters', () => {
    control.resetCounters();
    return ok();
  });
  routes.add('GET', '/faults', () => ok(control.faults()));
  routes.add('PUT', '/faults', (req) => {
    const plan = faultPlanSchema.safeParse(req.body ?? {});
    if (!plan.success)
      throw new TenantError(400, 'BadRequest', `Invalid fault plan: ${z.prettifyError(plan.error)}`);
    return ok(control.setFaults(req.body ?? {}));
  });
  routes.add('DELETE', '/faults', () => {
    control.clearFaults();
    return ok();
  });
  routes.add('POST', '/ops', (req) => ok({ ids: control.bulk([parseBody(operationSchema, req)]) }));
  routes.add('POST', '/bulk', (req) => ok({ ids: control.bulk(parseBody(bulkSchema, req).operations) }));
  routes.add('GET', '/users/{id}', (_req, params) => {
    const user = control.user(params.id!);
    if (!user) throw new TenantError(404, 'Request_ResourceNotFound', `User '${params.id}' does not exist.`);
    return ok(user);
  });
  routes.add('PUT', '/permissions', (req) => {
    control.setGrantedPermissions(parseBody(permissionsSchema, req).permissions);
    return ok();
  });
  routes.add('PUT', '/consent', (req) => {
    control.setConsentAnswer(parseBody(consentSchema, req));
    return ok();
  });
  routes.add('POST', '/clock', (req) => {
    control.advanceClock(parseBody(clockSchema, req).advanceMs);
    return ok();
  });
  routes.add('PUT', '/delta-page-size', (req) => {
    const body = parseBody(pageSizeSchema, req);
    control.setDeltaPageSize(body.users, body.groupBudget);
    return ok();
  });
  routes.add('GET', '/outbox', () => ok({ messages: deps.outbox.messages() }));
  routes.add('DELETE', '/outbox', () => {
    deps.outbox.clear();
    return ok();
  });
  routes.add('GET', '/subscriptions', () =>
    ok({ subscriptions: deps.subscriptions.list(), deliveries: deps.subscriptions.deliveries() }),
  );
  routes.add('POST', '/subscriptions/{id}/lifecycle', async (req, params) => {
    await deps.subscriptions.triggerLifecycle(params.id!, parseBody(lifecycleSchema, req).event);
    return ok();
  });
}
