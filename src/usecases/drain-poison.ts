import { z } from 'zod';

import type { PoisonMessage } from '../adapters/storage/queue-gateway.js';
import { type QueueName, QUEUES } from '../adapters/storage/storage-names.js';
import { type TenantError, UNKNOWN_TENANT } from '../adapters/storage/tenant-error-log.js';
import { ensureError } from '../shared/errors.js';
import { describeError, lastFailure } from './failure-notes.js';
import { giveUpChunk } from './give-up-chunk.js';
import { directoryChunkSchema, type RunRef, runRefSchema, syncRequestSchema } from './messages.js';
import type { Logger, PipelineDeps } from './pipeline-deps.js';
import { loadChunkChanges } from './reconcile-message.js';
import { tenantErrorLog } from './tenant-errors.js';

/** Messages taken from one poison queue per batch, and how long each stays invisible while drained. */
const DRAIN_BATCH = 32;
const DRAIN_VISIBILITY_SECONDS = 60;
/** A message the drain itself failed on this many times is recorded as best it can and dropped. */
const DRAIN_ATTEMPTS = 5;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export type PoisonBody =
  { readonly ok: true; readonly body: unknown } | { readonly ok: false; readonly reason: string };

/**
 * A poison message's body as its trigger saw it: base64 (host.json messageEncoding) of JSON object or
 * array text, or of any other text (a string). Not base64: it cannot be read at all.
 */
export function decodePoisonBody(text: string): PoisonBody {
  if (!BASE64.test(text))
    return { ok: false, reason: 'it is not valid base64 (the queues’ messageEncoding)' };
  const content = Buffer.from(text, 'base64').toString('utf8');
  const trimmed = content.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return { ok: true, body: JSON.parse(trimmed) as unknown };
    } catch {
      return { ok: true, body: content };
    }
  }
  return { ok: true, body: content };
}

/**
 * Drains every `<queue>-poison` queue (a timer, not a queue trigger: the Functions host hands a trigger
 * no message it cannot decode, and gives a `-poison` queue no poison queue of its own, so a drain that
 * were a trigger would leave such messages there forever). Each message is recorded, then deleted; one
 * the drain fails on comes back after a minute, and after a few attempts is recorded as best it can.
 * Never throws.
 */
export async function drainPoisonQueues(
  deps: PipelineDeps,
  log: Logger,
): Promise<{ drained: number; failed: number }> {
  let drained = 0;
  let failed = 0;
  for (const queue of Object.values(QUEUES)) {
    for (let batch = 0; batch < 10; batch += 1) {
      let messages: PoisonMessage[];
      try {
        messages = await deps.queues.receivePoison(queue, DRAIN_BATCH, DRAIN_VISIBILITY_SECONDS);
      } catch (error) {
        log.error('reading a poison queue failed', { queue, error: ensureError(error).message });
        failed += 1;
        break;
      }
      for (const message of messages) {
        if (await drainOne(deps, queue, message, log)) drained += 1;
        else failed += 1;
      }
      if (messages.length < DRAIN_BATCH) break;
    }
  }
  return { drained, failed };
}

async function drainOne(
  deps: PipelineDeps,
  queue: QueueName,
  message: PoisonMessage,
  log: Logger,
): Promise<boolean> {
  const at = message.insertedOn.toISOString();
  try {
    const decoded = decodePoisonBody(message.text);
    const recordedIn = decoded.ok
      ? await drainPoisonMessage(deps, queue, decoded.body, at)
      : await recordOnTenant(deps, UNKNOWN_TENANT, {
          category: 'invalid-data',
          message: `a message on ${queue}-poison cannot be read: ${decoded.reason}`,
          source: `poison:${queue}`,
          at,
          body: message.text,
        });
    await message.delete();
    log.warn('poison message drained into an error log', { queue, recordedIn });
    return true;
  } catch (error) {
    const reason = describeError(ensureError(error));
    log.error('draining a poison message failed; it comes back in a minute', { queue, error: reason });
    if (message.dequeueCount < DRAIN_ATTEMPTS) return false;
    try {
      await recordOnTenant(deps, UNKNOWN_TENANT, {
        category: 'transient',
        message: `a message on ${queue}-poison could not be drained ${message.dequeueCount} time(s) (${reason}); dropped`,
        source: `poison:${queue}`,
        at,
        body: message.text,
      });
      await message.delete();
    } catch {
      // Storage itself is failing: the message stays, and the next drain tries again.
    }
    return false;
  }
}

/**
 * Records a message that kept failing (moved to `<queue>-poison`) with the reason and how many times it
 * was delivered: on the run it belongs to (a poisoned chunk is also counted into its run as failed, so
 * the run still completes and says what was not applied), or, with no run, on its tenant's error log
 * (the `unknown` tenant's when the body names none). Returns where it was recorded.
 */
export async function drainPoisonMessage(
  deps: PipelineDeps,
  queue: QueueName,
  body: unknown,
  at: string = deps.now().toISOString(),
): Promise<string> {
  const failure = await lastFailure(deps.tables, queue, body);
  const category = failure?.category ?? 'transient';
  const delivered = Math.max(failure?.dequeueCount ?? 0, failure?.attempts ?? 0);
  const reason = failure?.message ?? 'no failure was noted (the host stopped or timed out while handling it)';
  const gaveUp =
    `message from ${queue} failed ${failure?.attempts ?? 0} time(s) and was moved to ${queue}-poison` +
    ` (delivered ${delivered > 0 ? `${delivered} time(s)` : 'an unknown number of times'}): ${reason}`;
  const onTenant = (tenantId: string): Promise<string> =>
    recordOnTenant(deps, tenantId, {
      category,
      message: gaveUp,
      source: `poison:${queue}`,
      at,
      ...(delivered > 0 ? { dequeueCount: delivered } : {}),
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  const chunk = queue === QUEUES.directoryChanges ? directoryChunkSchema.safeParse(body) : undefined;
  if (chunk?.success) {
    const ref = { tenantId: chunk.data.tenantId, runId: chunk.data.runId, runKey: chunk.data.runKey };
    if (!(await deps.runs.get(ref))) return onTenant(ref.tenantId);
    const changes = await loadChunkChanges(deps, chunk.data).catch(() => undefined);
    const lost = changes ? `${changes.length} changes not applied` : 'its changes could not be read';
    const report = await deps.runs.chunkReport(ref, chunk.data.chunkIndex);
    const applied = report?.state === 'applied';
    const fate = applied ? 'a copy of it failed (it was applied)' : 'was never applied';
    const error = {
      category,
      objectId: null,
      message: `chunk ${chunk.data.chunkIndex} ${fate}: ${gaveUp} (${lost})`,
      source: `poison:${queue}:${chunk.data.chunkIndex}`,
    };
    // A copy of a chunk already applied (a duplicate delivery) loses nothing: only a chunk never
    // applied is counted as failed, and given up.
    if (applied) await deps.runs.recordErrors(ref, [error], at);
    else {
      await giveUpChunk(
        deps,
        ref,
        chunk.data.chunkIndex,
        {
          error,
          changes: changes ?? [],
          fullRoundBecause: `chunk ${chunk.data.chunkIndex} of run ${ref.runId} was never applied (${lost})`,
        },
        at,
      );
    }
    return ref.runId;
  }

  const onRun = async (ref: RunRef): Promise<string> => {
    if (!(await deps.runs.get(ref))) return onTenant(ref.tenantId);
    await deps.runs.recordErrors(
      ref,
      [{ category, objectId: null, message: gaveUp, source: `poison:${queue}` }],
      at,
    );
    return ref.runId;
  };

  const ref = runRefSchema.safeParse(body);
  if (ref.success) return onRun(ref.data);

  const request = syncRequestSchema.safeParse(body);
  if (request.success) {
    // A request that kept failing was running the tenant's round in flight, if there is one.
    const { tenantId } = request.data;
    const { cursor } = await deps.syncState.readCursor(tenantId);
    return cursor.round
      ? onRun({ tenantId, runId: cursor.round.runId, runKey: cursor.round.runKey })
      : onTenant(tenantId);
  }
  return onTenant(tenantOf(body) ?? UNKNOWN_TENANT);
}

async function recordOnTenant(deps: PipelineDeps, tenantId: string, error: TenantError): Promise<string> {
  // A key from an unreadable body may hold characters a PartitionKey cannot: the unknown tenant's log.
  const partition = TENANT_KEY.test(tenantId) ? tenantId : UNKNOWN_TENANT;
  await tenantErrorLog(deps).record(partition, error);
  return `tenant:${partition}`;
}

const TENANT_KEY = /^[A-Za-z0-9._-]{1,128}$/;

function tenantOf(body: unknown): string | undefined {
  const parsed = z
    .object({ tenantId: z.string().min(1).max(200) })
    .loose()
    .safeParse(body);
  return parsed.success ? parsed.data.tenantId : undefined;
}
