import type { TokenCredential } from '@azure/identity';
import { Client, GraphError, RetryHandlerOptions } from '@microsoft/microsoft-graph-client';
import { z } from 'zod';

import type { ResolvedCloud } from '../../domain/cloud.js';
import { SUBSCRIBED_CHANGE_TYPES } from '../../domain/subscription-rules.js';
import {
  type GraphSubscription,
  type GraphSubscriptions,
  type NewSubscription,
  SubscriptionGoneError,
} from '../../ports/graph-subscriptions.js';
import { PermanentError } from '../../shared/errors.js';
import { classifyGraphError } from './graph-directory-source.js';

const subscriptionSchema = z
  .object({
    id: z.string().min(1),
    resource: z.string(),
    notificationUrl: z.string(),
    expirationDateTime: z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'expected a date'),
  })
  .loose();

const subscriptionListSchema = z.object({
  value: z.array(subscriptionSchema),
  '@odata.nextLink': z.string().optional(),
});

function toSubscription(body: unknown): GraphSubscription {
  const parsed = subscriptionSchema.parse(body);
  return {
    id: parsed.id,
    resource: parsed.resource,
    notificationUrl: parsed.notificationUrl,
    expiresAt: new Date(parsed.expirationDateTime),
  };
}

/**
 * `/subscriptions` through the real `@microsoft/microsoft-graph-client`, signed in with the
 * connection's credential (the same as its delta reads), with the client's retry handler for 429/503.
 */
export class GraphSubscriptionClient implements GraphSubscriptions {
  readonly #client: Client;
  readonly #retry: RetryHandlerOptions;

  constructor(options: { cloud: ResolvedCloud; credential: TokenCredential; maxRetries: number }) {
    const endpoint = options.cloud.graphEndpoint;
    const scope = `${endpoint}/.default`;
    this.#client = Client.initWithMiddleware({
      authProvider: {
        getAccessToken: async () => {
          const token = await options.credential.getToken(scope);
          if (!token) throw new PermanentError('no access token for Microsoft Graph', 'permission-denied');
          return token.token;
        },
      },
      baseUrl: `${endpoint}/`,
      customHosts: new Set([new URL(endpoint).hostname]),
    });
    this.#retry = new RetryHandlerOptions(1, options.maxRetries);
  }

  async create(subscription: NewSubscription): Promise<GraphSubscription> {
    try {
      const body: unknown = await this.#client
        .api('/subscriptions')
        .version('v1.0')
        .middlewareOptions([this.#retry])
        .post({
          changeType: SUBSCRIBED_CHANGE_TYPES,
          resource: subscription.resource,
          notificationUrl: subscription.notificationUrl,
          lifecycleNotificationUrl: subscription.lifecycleNotificationUrl,
          expirationDateTime: subscription.expiresAt.toISOString(),
          clientState: subscription.clientState,
          latestSupportedTlsVersion: 'v1_2',
        });
      return toSubscription(body);
    } catch (error) {
      throw asPipelineError(error);
    }
  }

  async renew(subscriptionId: string, expiresAt: Date): Promise<GraphSubscription> {
    try {
      const body: unknown = await this.#client
        .api(`/subscriptions/${encodeURIComponent(subscriptionId)}`)
        .version('v1.0')
        .middlewareOptions([this.#retry])
        .patch({ expirationDateTime: expiresAt.toISOString() });
      return toSubscription(body);
    } catch (error) {
      if (error instanceof GraphError && error.statusCode === 404)
        throw new SubscriptionGoneError(subscriptionId);
      throw asPipelineError(error);
    }
  }

  async remove(subscriptionId: string): Promise<void> {
    try {
      await this.#client
        .api(`/subscriptions/${encodeURIComponent(subscriptionId)}`)
        .version('v1.0')
        .middlewareOptions([this.#retry])
        .delete();
    } catch (error) {
      if (error instanceof GraphError && error.statusCode === 404) return;
      throw asPipelineError(error);
    }
  }

  async list(): Promise<GraphSubscription[]> {
    const found: GraphSubscription[] = [];
    let url: string | undefined = '/subscriptions';
    try {
      while (url) {
        const body = subscriptionListSchema.parse(
          await this.#client.api(url).version('v1.0').middlewareOptions([this.#retry]).get(),
        );
        found.push(...body.value.map(toSubscription));
        url = body['@odata.nextLink'];
      }
    } catch (error) {
      throw asPipelineError(error);
    }
    return found;
  }
}

function asPipelineError(error: unknown): Error {
  if (error instanceof z.ZodError) {
    return new PermanentError(
      `Graph answered a malformed subscription: ${error.issues[0]?.message ?? ''}`,
      'invalid-data',
    );
  }
  return classifyGraphError(error);
}
