import type { TokenCredential } from '@azure/identity';
import {
  Client,
  type ClientOptions,
  GraphError,
  ResponseType,
  RetryHandlerOptions,
} from '@microsoft/microsoft-graph-client';
import { z } from 'zod';

import { type ResolvedCloud } from '../../domain/cloud.js';
import { MIRRORED_USER_PROPERTIES } from '../../domain/directory.js';
import { mirroredSelectExtras } from '../../domain/mirrored-properties.js';
import type {
  DeltaPage,
  DeltaResource,
  DirectorySource,
  PhotoContent,
  PhotoMetadata,
  PhotoSource,
  SecurityAttributeSource,
  UserSecurityAttributes,
} from '../../ports/directory-source.js';
import { forEachConcurrently } from '../../shared/concurrency.js';
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

/** `$select` of `/users/delta`: the default mapping's, the mirrored extras, the directory extensions. */
export function userDeltaSelect(directoryExtensions: readonly string[] = []): string {
  return [...MIRRORED_USER_PROPERTIES, ...mirroredSelectExtras(directoryExtensions), 'manager'].join(',');
}
const GROUP_SELECT = ['displayName', 'description', 'mailNickname', 'members'].join(',');

export interface GraphSourceOptions {
  readonly cloud: ResolvedCloud;
  readonly credential: TokenCredential;
  readonly maxRetries: number;
  /** Seconds before the first retry when Graph sends no Retry-After (then exponential). */
  readonly retryDelaySeconds?: number;
  /** Directory extensions (`extension_<appId>_<name>`) the policy maps: selected on `/users/delta`. */
  readonly directoryExtensions?: readonly string[];
}

/** Graph's limit of requests in one `$batch`. */
export const MAX_BATCH_REQUESTS = 20;
/** `$batch` requests of photo metadata in flight at once. */
const BATCH_CONCURRENCY = 4;

const tokenClaimsSchema = z.object({ roles: z.array(z.string()).default([]) }).loose();

const securityAttributesPageSchema = z
  .object({
    value: z.array(
      z
        .object({
          id: z.string().min(1),
          customSecurityAttributes: z.record(z.string(), z.record(z.string(), z.unknown())).nullish(),
        })
        .loose(),
    ),
    '@odata.nextLink': z.string().optional(),
  })
  .loose();

const batchResponseSchema = z.object({
  responses: z.array(
    z
      .object({
        id: z.string(),
        status: z.number().int(),
        headers: z.record(z.string(), z.string()).nullish(),
        body: z.unknown().optional(),
      })
      .loose(),
  ),
});

const photoMetadataSchema = z
  .object({
    '@odata.mediaEtag': z.string().nullish(),
    '@odata.mediaContentType': z.string().nullish(),
  })
  .loose();

/**
 * Microsoft Graph through the real `@microsoft/microsoft-graph-client`: token from the connection's
 * credential, the cloud's Graph endpoint, the client's retry handler for 429/503/504 (Retry-After
 * honoured, exponential back-off without it).
 */
export class GraphDirectorySource implements DirectorySource, SecurityAttributeSource, PhotoSource {
  readonly #client: Client;
  readonly #endpoint: string;
  readonly #retry: RetryHandlerOptions;
  readonly #maxRetries: number;
  readonly #userSelect: string;
  readonly #accessToken: () => Promise<string>;
  #requests = 0;

  constructor(options: GraphSourceOptions) {
    this.#endpoint = options.cloud.graphEndpoint;
    this.#userSelect = userDeltaSelect(options.directoryExtensions);
    this.#maxRetries = options.maxRetries;
    const scope = `${this.#endpoint}/.default`;
    this.#accessToken = async () => {
      const token = await options.credential.getToken(scope);
      if (!token) throw new PermanentError('no access token for Microsoft Graph', 'permission-denied');
      return token.token;
    };
    const clientOptions: ClientOptions = {
      authProvider: { getAccessToken: this.#accessToken },
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
    const select = resource === 'users' ? this.#userSelect : GROUP_SELECT;
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

  /** The `roles` claim of the connection's app-only token (read, never logged). */
  async grantedRoles(): Promise<string[]> {
    const token = await this.#accessToken();
    const payload = token.split('.')[1];
    if (payload === undefined) return [];
    try {
      const claims = tokenClaimsSchema.safeParse(
        JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')),
      );
      return claims.success ? claims.data.roles : [];
    } catch {
      return [];
    }
  }

  async *securityAttributePages(): AsyncIterable<UserSecurityAttributes[]> {
    let url: string | undefined = `${this.#endpoint}/v1.0/users?$select=id,customSecurityAttributes&$top=999`;
    while (url !== undefined) {
      const page = securityAttributesPageSchema.safeParse(await this.#getJson(url));
      if (!page.success) {
        throw new TransientError(
          `Graph returned a malformed users page: ${page.error.issues[0]?.message ?? ''}`,
        );
      }
      yield page.data.value.map((user) => ({
        id: user.id,
        attributes: user.customSecurityAttributes ?? null,
      }));
      url = page.data['@odata.nextLink'];
    }
  }

  async photoMetadata(userIds: readonly string[]): Promise<Map<string, PhotoMetadata | null>> {
    const found = new Map<string, PhotoMetadata | null>();
    const batches: string[][] = [];
    for (let i = 0; i < userIds.length; i += MAX_BATCH_REQUESTS) {
      batches.push(userIds.slice(i, i + MAX_BATCH_REQUESTS));
    }
    await forEachConcurrently(batches, BATCH_CONCURRENCY, async (ids) => {
      for (const [id, metadata] of await this.#photoMetadataBatch(ids)) found.set(id, metadata);
    });
    return found;
  }

  /**
   * One `$batch` of `GET /users/{id}/photo`; items throttled inside the batch (429, 503, 504, each
   * with its own `Retry-After`) are sent again in a smaller batch after the longest wait.
   */
  async #photoMetadataBatch(ids: readonly string[]): Promise<Map<string, PhotoMetadata | null>> {
    const found = new Map<string, PhotoMetadata | null>();
    let pending = [...ids];
    for (let attempt = 0; pending.length > 0; attempt += 1) {
      const body = {
        requests: pending.map((id, index) => ({
          id: String(index),
          method: 'GET',
          url: `/users/${encodeURIComponent(id)}/photo`,
        })),
      };
      const parsed = batchResponseSchema.safeParse(
        await this.#postJson(`${this.#endpoint}/v1.0/$batch`, body),
      );
      if (!parsed.success) {
        throw new TransientError(
          `Graph returned a malformed $batch answer: ${parsed.error.issues[0]?.message ?? ''}`,
        );
      }
      const retry: string[] = [];
      let waitSeconds = 0;
      for (const item of parsed.data.responses) {
        const id = pending[Number(item.id)];
        if (id === undefined) continue;
        if (item.status === 200) {
          const metadata = photoMetadataSchema.safeParse(item.body);
          const etag = metadata.success ? (metadata.data['@odata.mediaEtag'] ?? '') : '';
          // Graph answers a user without a photo with 404, or (some mailboxes) a 1x1 placeholder
          // whose media ETag is empty.
          found.set(
            id,
            etag === ''
              ? null
              : { mediaEtag: etag, contentType: metadata.data?.['@odata.mediaContentType'] ?? 'image/jpeg' },
          );
        } else if (item.status === 404) {
          found.set(id, null);
        } else if (
          (item.status === 429 || item.status === 503 || item.status === 504) &&
          attempt < this.#maxRetries
        ) {
          retry.push(id);
          waitSeconds = Math.max(waitSeconds, retryAfterSeconds(item.headers) ?? 2 ** attempt);
        } else {
          throw batchItemError(item.status, `GET /users/${id}/photo`, item.body);
        }
      }
      pending = retry;
      if (pending.length > 0) await sleep(waitSeconds * 1000);
    }
    return found;
  }

  async downloadPhoto(userId: string): Promise<PhotoContent | null> {
    const url = `${this.#endpoint}/v1.0/users/${encodeURIComponent(userId)}/photo/$value`;
    this.#requests += 1;
    let response: Response;
    try {
      response = (await this.#client
        .api(url)
        .middlewareOptions([this.#retry])
        .responseType(ResponseType.RAW)
        .get()) as Response;
    } catch (error) {
      throw classifyGraphError(error);
    }
    if (response.status === 404) return null;
    if (!response.ok) throw batchItemError(response.status, `GET /users/${userId}/photo/$value`, undefined);
    const bytes = Buffer.from(await response.arrayBuffer());
    return { bytes, contentType: response.headers.get('content-type') ?? 'image/jpeg' };
  }

  async #getJson(url: string): Promise<unknown> {
    this.#requests += 1;
    try {
      return (await this.#client.api(url).middlewareOptions([this.#retry]).get()) as unknown;
    } catch (error) {
      throw classifyGraphError(error);
    }
  }

  async #postJson(url: string, body: unknown): Promise<unknown> {
    this.#requests += 1;
    try {
      return (await this.#client.api(url).middlewareOptions([this.#retry]).post(body)) as unknown;
    } catch (error) {
      throw classifyGraphError(error);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `Retry-After` of a batch item (header names vary in casing), in seconds. */
function retryAfterSeconds(headers: Record<string, string> | null | undefined): number | undefined {
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (name.toLowerCase() !== 'retry-after') continue;
    const seconds = Number.parseFloat(value);
    return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
  }
  return undefined;
}

/** A failed request inside a batch (or a raw one), as the pipeline's errors. */
function batchItemError(status: number, what: string, body: unknown): Error {
  const code = z
    .object({ error: z.object({ code: z.string() }).loose() })
    .loose()
    .safeParse(body);
  const message = `Graph answered ${status}${code.success ? ` ${code.data.error.code}` : ''} to ${what}`;
  if (status === 401 || status === 403) return new PermanentError(message, 'permission-denied');
  if (status === 429) return new TransientError(message, 'rate-limited');
  if (status >= 500) return new TransientError(message);
  return new PermanentError(message, 'invalid-data');
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
