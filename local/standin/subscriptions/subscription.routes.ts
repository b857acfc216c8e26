/** Graph v1.0 `/subscriptions` for `users` and `groups`. */
import { randomUUID } from 'node:crypto';

import {
  graphError,
  type RouteTable,
  type StandinRequest,
  type StandinResponse,
} from '../http/route-table.js';
import type { NotificationSender } from './notification-sender.js';
import type { SubscriptionTimings } from './subscription.types.js';
import { type SubscriptionRecord, toSubscriptionView } from './subscription-record.js';
import {
  checkClientState,
  checkNotificationUrl,
  createSubscriptionBody,
  directoryResource,
  parseChangeTypes,
  parseExpiration,
  type RuleViolation,
  updateSubscriptionBody,
} from './subscription-request.schema.js';
import { validateEndpoint } from './validation-handshake.js';

export interface SubscriptionRouteContext {
  readonly records: Map<string, SubscriptionRecord>;
  readonly sender: NotificationSender;
  readonly now: () => number;
  readonly timings: SubscriptionTimings;
  readonly clientId: string;
  readonly creatorId: string;
}

/** Application permissions that allow subscribing to each directory collection (least privileged first). */
export const SUBSCRIPTION_ROLES: Readonly<Record<'users' | 'groups', readonly string[]>> = {
  users: ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'],
  groups: [
    'GroupMember.Read.All',
    'Group.Read.All',
    'Group.ReadWrite.All',
    'Directory.Read.All',
    'Directory.ReadWrite.All',
  ],
};

const ALL_ROLES = [...new Set([...SUBSCRIPTION_ROLES.users, ...SUBSCRIPTION_ROLES.groups])];

export function registerSubscriptionHandlers(routes: RouteTable, context: SubscriptionRouteContext): void {
  const options = { anyOfRoles: ALL_ROLES };
  routes.add('POST', '/subscriptions', (req) => createSubscription(context, req), options);
  routes.add('GET', '/subscriptions', (req) => listSubscriptions(context, req), options);
  routes.add('GET', '/subscriptions/{id}', (req, params) => withOwned(context, req, params, getOne), options);
  routes.add(
    'PATCH',
    '/subscriptions/{id}',
    (req, params) => withOwned(context, req, params, update),
    options,
  );
  routes.add(
    'DELETE',
    '/subscriptions/{id}',
    (req, params) => withOwned(context, req, params, remove),
    options,
  );
  routes.add(
    'POST',
    '/subscriptions/{id}/reauthorize',
    (req, params) => withOwned(context, req, params, reauthorize),
    options,
  );
}

type OwnedHandler = (
  context: SubscriptionRouteContext,
  req: StandinRequest,
  record: SubscriptionRecord,
) => StandinResponse | Promise<StandinResponse>;

function withOwned(
  context: SubscriptionRouteContext,
  req: StandinRequest,
  params: Readonly<Record<string, string>>,
  handler: OwnedHandler,
): StandinResponse | Promise<StandinResponse> {
  const record = context.records.get(params.id ?? '');
  if (!record || record.applicationId !== applicationIdOf(context, req)) {
    return graphError(404, 'ResourceNotFound', `The object was not found.`);
  }
  const denied = permissionDenied(req, record.resource);
  return denied ?? handler(context, req, record);
}

function applicationIdOf(context: SubscriptionRouteContext, req: StandinRequest): string {
  return req.token?.appId ?? context.clientId;
}

function permissionDenied(req: StandinRequest, resource: 'users' | 'groups'): StandinResponse | undefined {
  const roles = req.token?.roles ?? [];
  if (SUBSCRIPTION_ROLES[resource].some((role) => roles.includes(role))) return undefined;
  return graphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
}

function badRequest(violation: RuleViolation): StandinResponse {
  return graphError(400, violation.code, violation.message);
}

function isViolation(value: unknown): value is RuleViolation {
  return typeof value === 'object' && value !== null && 'code' in value && 'message' in value;
}

function entity(req: StandinRequest, record: SubscriptionRecord, status: number): StandinResponse {
  return {
    status,
    body: {
      '@odata.context': `${req.baseUrl}/$metadata#subscriptions/$entity`,
      ...toSubscriptionView(record),
    },
  };
}

async function handshake(
  context: SubscriptionRouteContext,
  url: string,
  subscriptionId: string,
): Promise<RuleViolation | undefined> {
  const result = await validateEndpoint(url, context.timings.validationTimeoutMs);
  context.sender.record({
    kind: 'validation',
    url,
    subscriptionIds: [subscriptionId],
    count: 1,
    status: result.status,
    attempts: 1,
    outcome: result.violation ? 'failed' : 'delivered',
  });
  return result.violation;
}

async function createSubscription(
  context: SubscriptionRouteContext,
  req: StandinRequest,
): Promise<StandinResponse> {
  const parsed = createSubscriptionBody.safeParse(req.body);
  if (!parsed.success) {
    return graphError(
      400,
      'InvalidRequest',
      `Invalid subscription: ${parsed.error.issues[0]?.message ?? ''}`,
    );
  }
  const body = parsed.data;
  const resource = directoryResource(body.resource);
  if (!resource) {
    return graphError(
      400,
      'InvalidRequest',
      `Resource '${body.resource}' is not supported by this stand-in: use 'users' or 'groups'.`,
    );
  }
  const denied = permissionDenied(req, resource);
  if (denied) return denied;
  const changeTypes = parseChangeTypes(body.changeType);
  if (isViolation(changeTypes)) return badRequest(changeTypes);
  const expiresAt = parseExpiration(body.expirationDateTime, context.now());
  if (isViolation(expiresAt)) return badRequest(expiresAt);
  const rule =
    checkClientState(body.clientState) ??
    checkNotificationUrl('notificationUrl', body.notificationUrl) ??
    (body.lifecycleNotificationUrl
      ? checkNotificationUrl('lifecycleNotificationUrl', body.lifecycleNotificationUrl)
      : undefined);
  if (rule) return badRequest(rule);

  const id = randomUUID();
  const failed =
    (await handshake(context, body.notificationUrl, id)) ??
    (body.lifecycleNotificationUrl ? await handshake(context, body.lifecycleNotificationUrl, id) : undefined);
  if (failed) return badRequest(failed);

  const record: SubscriptionRecord = {
    id,
    resource,
    resourceAsGiven: body.resource,
    applicationId: applicationIdOf(context, req),
    creatorId: context.creatorId,
    changeTypes,
    changeTypeAsGiven: body.changeType,
    clientState: body.clientState ?? null,
    notificationUrl: body.notificationUrl,
    lifecycleNotificationUrl: body.lifecycleNotificationUrl ?? null,
    expiresAt,
    latestSupportedTlsVersion: body.latestSupportedTlsVersion ?? 'v1_2',
    reauthorizationSent: false,
  };
  context.records.set(id, record);
  return entity(req, record, 201);
}

function listSubscriptions(context: SubscriptionRouteContext, req: StandinRequest): StandinResponse {
  const appId = applicationIdOf(context, req);
  const value = [...context.records.values()]
    .filter((record) => record.applicationId === appId)
    .map(toSubscriptionView);
  return { status: 200, body: { '@odata.context': `${req.baseUrl}/$metadata#subscriptions`, value } };
}

const getOne: OwnedHandler = (_context, req, record) => entity(req, record, 200);

const update: OwnedHandler = async (context, req, record) => {
  const parsed = updateSubscriptionBody.safeParse(req.body);
  if (!parsed.success) {
    return graphError(
      400,
      'InvalidRequest',
      `Invalid subscription: ${parsed.error.issues[0]?.message ?? ''}`,
    );
  }
  const body = parsed.data;
  const expiresAt = body.expirationDateTime
    ? parseExpiration(body.expirationDateTime, context.now())
    : undefined;
  if (isViolation(expiresAt)) return badRequest(expiresAt);
  const rule =
    (body.notificationUrl ? checkNotificationUrl('notificationUrl', body.notificationUrl) : undefined) ??
    (body.lifecycleNotificationUrl
      ? checkNotificationUrl('lifecycleNotificationUrl', body.lifecycleNotificationUrl)
      : undefined);
  if (rule) return badRequest(rule);
  const failed =
    (body.notificationUrl && body.notificationUrl !== record.notificationUrl
      ? await handshake(context, body.notificationUrl, record.id)
      : undefined) ??
    (body.lifecycleNotificationUrl && body.lifecycleNotificationUrl !== record.lifecycleNotificationUrl
      ? await handshake(context, body.lifecycleNotificationUrl, record.id)
      : undefined);
  if (failed) return badRequest(failed);

  if (expiresAt !== undefined) {
    record.expiresAt = expiresAt;
    record.reauthorizationSent = false;
  }
  if (body.notificationUrl) record.notificationUrl = body.notificationUrl;
  if (body.lifecycleNotificationUrl !== undefined)
    record.lifecycleNotificationUrl = body.lifecycleNotificationUrl;
  return entity(req, record, 200);
};

const remove: OwnedHandler = (context, _req, record) => {
  context.records.delete(record.id);
  return { status: 204 };
};

/** Graph answers 204: the subscription may keep delivering (the stand-in never pauses one for reauthorization). */
const reauthorize: OwnedHandler = () => ({ status: 204 });
