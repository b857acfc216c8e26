/** Probes the integration tests put between the pipeline and its queues or its Graph source. */
import type { QueueClient } from '@azure/storage-queue';

import { decodeQueueMessage } from '../../local/host/queue-message-encoding.js';
import type { ConnectionSettings } from '../../src/domain/connection-settings.js';
import type { DirectorySource } from '../../src/ports/directory-source.js';
import type { Logger } from '../../src/ports/logger.js';
import {
  type DirectoryChunk,
  directoryChunkSchema,
  type SyncRequest,
  syncRequestSchema,
} from '../../src/usecases/messages.js';
import type { PipelineDeps } from '../../src/usecases/pipeline-deps.js';

export const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** A sync request for the tenant, made now (a manual, incremental one unless told otherwise). */
export function syncRequest(
  tenantId: string,
  options: { trigger?: SyncRequest['trigger']; full?: boolean } = {},
): SyncRequest {
  return {
    type: 'sync-request',
    tenantId,
    trigger: options.trigger ?? 'manual',
    full: options.full ?? false,
    requestedAt: new Date().toISOString(),
  };
}

/** Takes every message off a queue (bodies as sent), leaving it empty. */
export async function drainQueue(queue: QueueClient): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const { receivedMessageItems } = await queue.receiveMessages({
      numberOfMessages: 32,
      visibilityTimeout: 300,
    });
    if (receivedMessageItems.length === 0) return bodies;
    for (const message of receivedMessageItems) {
      bodies.push(message.messageText);
      await queue.deleteMessage(message.messageId, message.popReceipt);
    }
  }
}

/** The sync requests waiting in the queue, parsed, left where they are. */
export async function peekSyncRequests(queue: QueueClient): Promise<SyncRequest[]> {
  const { peekedMessageItems } = await queue.peekMessages({ numberOfMessages: 32 });
  return peekedMessageItems.map((m) =>
    syncRequestSchema.parse(JSON.parse(decodeQueueMessage(m.messageText, 'base64') ?? 'null')),
  );
}

/** Takes every chunk message off the queue, parsed, leaving it empty. */
export async function drainChunks(queue: QueueClient): Promise<DirectoryChunk[]> {
  return (await drainQueue(queue)).map((text) =>
    directoryChunkSchema.parse(JSON.parse(decodeQueueMessage(text, 'base64') ?? 'null')),
  );
}

/**
 * The real Graph source, with `intercept` run before each delta page is fetched (its 1-based number
 * among the pages this source served, and the URL): it may wait, or throw to stop the fetcher.
 */
export function interceptedSource(
  deps: PipelineDeps,
  intercept: (page: number, url: string) => Promise<void> | void,
): PipelineDeps {
  return {
    ...deps,
    directorySourceFor: async (settings: ConnectionSettings): Promise<DirectorySource> => {
      const real = await deps.directorySourceFor(settings);
      let page = 0;
      return {
        initialDeltaUrl: (resource) => real.initialDeltaUrl(resource),
        get requestCount() {
          return real.requestCount;
        },
        getDeltaPage: async (url) => {
          page += 1;
          await intercept(page, url);
          return real.getDeltaPage(url);
        },
      };
    },
  };
}

/** The items in a seeded random order (a linear congruential generator: the same seed, the same order). */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i -= 1) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * `target` with its method `name` replaced by `wrap(original)` (the original bound to `target`), every
 * other member as it is: a port with one step intercepted (an interleaving or a crash under test).
 */
export function withMethod<T extends object, K extends keyof T>(
  target: T,
  name: K,
  wrap: (original: T[K]) => T[K],
): T {
  return new Proxy(target, {
    get(object, property) {
      const value = Reflect.get(object, property, object) as unknown;
      if (typeof value !== 'function') return value;
      const bound = (value as (...args: unknown[]) => unknown).bind(object) as T[K];
      return property === name ? wrap(bound) : bound;
    },
  });
}
