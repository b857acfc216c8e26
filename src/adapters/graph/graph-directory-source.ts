import type { TokenCredential } from '@azure/identity';
import {
  Client,
  type ClientOptions,
  GraphError,
  RetryHandlerOptions,
} from '@microsoft/microsoft-graph-client';
import { z } from 'zod';

import { type ResolvedCloud } from '../../domain/cloud.js';
import { MIRRORED_USER_PROPERTIES } from '../../domain/directory.js';
import type { DeltaPage, DeltaResource, DirectorySource } from '../../ports/directory-source.js';
import { DeltaTokenExpiredError, PermanentError, TransientError } from '../../shared/errors.js';

const deltaPageSchema = z
  .object({
    value: z.array(z.unknown()),
    '@odata.nextLink': z.string().optional(),
    '@odata.deltaLink': z.string().optional(),
  })
  .loose()
  .refine((page) => page['@odata.nextLink'] !== undefined || page['@odata.deltaLink'] !== undefined, {
    message: 'a delta page must carry @odata.nextLink or @odata.deltaLink',
  });

const USER_SELECT = [...MIRRORED_USER_PROPERTIES, 'manager'].join(',');
const GROUP_SELECT = ['displayName', 'description', 'mailNickname', 'members'].join(',');

export interface GraphSourceOptions {
  readonly cloud: ResolvedCloud;
  readonly credential: TokenCredential;
  readonly maxRetries: number;
  /** Seconds before the first retry when Graph sends no Retry-After (then exponential). */
  readonly retryDelaySeconds?: number;
}

/**
 * Microsoft Graph through the real `@microsoft/microsoft-graph-client`: token from the connection's
 * credential, the cloud's Graph endpoint, the client's retry handler for 429/503/504 (Retry-After
 * honoured, exponential back-off without it).
 */
export class GraphDirectorySource implements DirectorySource {
  readonly #client: Client;
  readonly #endpoint: string;
  readonly #retry: RetryHandlerOptions;
  #requests = 0;

  constructor(options: GraphSourceOptions) {
    this.#endpoint = options.cloud.graphEndpoint;
    const scope = `${this.#endpoint}/.default`;
    const clientOptions: ClientOptions = {
      authProvider: {
        getAccessToken: async () => {
          const token = await options.credential.getToken(scope);
          if (!token) throw new PermanentError('no access token for Microsoft Graph', 'permission-denied');
          return token.token;
        },
      },
      baseUrl: `${this.#endpoint}/`,
      customHosts: new Set([new URL(this.#endpoint).hostname]),
      fetchOptions: {},
    };
    this.#client = Client.initWithMiddleware(clientOptions);
    this.#retry = new RetryHandlerOptions(options.retryDelaySeconds ?? 1, options.maxRetries);
  }

  get requestCount(): number {
    return this.#requests;
  }

  initialDeltaUrl(resource: DeltaResource): string {
    const select = resource === 'users' ? USER_SELECT : GROUP_SELECT;
    return `${this.#endpoint}/v1.0/${resource}/delta?$select=${select}`;
  }

  async getDeltaPage(url: string): Promise<DeltaPage> {
    this.#requests += 1;
    let body: unknown;
    try {
      body = (await this.#client.api(url).middlewareOptions([this.#retry]).get()) as unknown;
    } catch (error) {
      throw classifyGraphError(error);
    }
    const parsed = deltaPageSchema.safeParse(body);
    if (!parsed.success) {
      throw new TransientError(
        `Graph returned a malformed delta page: ${parsed.error.issues[0]?.message ?? ''}`,
      );
    }
    const page = parsed.data;
    return {
      items: page.value,
      ...(page['@odata.nextLink'] ? { nextLink: page['@odata.nextLink'] } : {}),
      ...(page['@odata.deltaLink'] ? { deltaLink: page['@odata.deltaLink'] } : {}),
    };
  }
}

const EXPIRED_TOKEN_CODES = new Set([
  'syncStateNotFound',
  'resyncRequired',
  'SyncStateNotFound',
  'ResyncRequired',
]);

/** Maps a Graph failure to the pipeline's errors: what to retry, what to record, what means resync. */
export function classifyGraphError(error: unknown): Error {
  if (!(error instanceof GraphError)) {
    return new TransientError(
      `Graph request failed: ${error instanceof Error ? error.message : String(error)}`,
      'transient',
      {
        cause: error,
      },
    );
  }
  const status = error.statusCode;
  const code = error.code ?? '';
  if (status === 410 || EXPIRED_TOKEN_CODES.has(code))
    return new DeltaTokenExpiredError(code || `HTTP ${status}`);
  const message = `Graph answered ${status} ${code}: ${error.message}`;
  // The credential was refused by Entra (bad secret, unknown app, consent missing): not retryable.
  if (/Authentication|CredentialUnavailable/i.test(code))
    return new PermanentError(message, 'permission-denied', { cause: error });
  if (status === 401 || status === 403)
    return new PermanentError(message, 'permission-denied', { cause: error });
  if (status === 404) return new PermanentError(message, 'user-not-found', { cause: error });
  if (status === 429) return new TransientError(message, 'rate-limited', { cause: error });
  if (status >= 500 || status === -1 || status === 0)
    return new TransientError(message, 'transient', { cause: error });
  return new PermanentError(message, 'invalid-data', { cause: error });
}
