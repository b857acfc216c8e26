import { z } from 'zod';

import { QUEUES, TABLES } from '../adapters/storage/storage-names.js';
import { isWriteConflict, type Row } from '../adapters/storage/table-gateway.js';
import type { ConnectionSettings } from '../domain/connection-settings.js';
import {
  isRunNotificationState,
  notificationChannels,
  RUN_NOTIFICATION_CHANNELS,
  RUN_NOTIFICATION_STATES,
  type RunNotificationChannel,
  type RunNotificationState,
} from '../domain/run-notifications.js';
import { ensureError, SyncError } from '../shared/errors.js';
import { summarize } from './describe-runs.js';
import { type RunRef, runRefSchema } from './messages.js';
import type { Logger, PipelineDeps } from './pipeline-deps.js';
import { runLinks, runNotificationContent } from './run-notification-content.js';
import type { RunNotificationDeps, RunNotificationRetry } from './run-notification-deps.js';

/**
 * Run notifications. When a run ends (the fan-in's winning transition: completed, with errors,
 * failed or held) and its connection's `notifications.on` names that ending, one message goes to
 * `run-notifications`; its consumer sends the mail and the signed webhook, so a slow mailbox or
 * receiver never holds the pipeline up.
 *
 * Exactly once per run, ending and channel: each channel has a row (`runChunks`, PartitionKey
 * `<tenant>|<run>|notifications`, RowKey `<state>.<channel>`), claimed with ETag before sending
 * (`sending`, a 30 s claim), then `sent`; a redelivered or duplicated message finds it sent and sends
 * nothing, or claimed and comes back once the claim is over (its holder may have died). Only a host
 * dying between the send and the mark sends twice (the webhook's id stays, so a receiver can tell).
 * A failed delivery is retried by a delayed message with back-off
 * (2 s, 4 s, 8 s, … per channel); after `maxAttempts`, or at once for what cannot succeed (a
 * refused mailbox, a missing secret), the failure goes to the run's error log.
 */
export const runNotificationMessageSchema = runRefSchema.extend({
  type: z.literal('run-notification'),
  state: z.enum(RUN_NOTIFICATION_STATES),
  /** Absent: every channel the settings name; set: a retry of that one. */
  channel: z.enum(RUN_NOTIFICATION_CHANNELS).optional(),
  attempt: z.number().int().min(0).max(100).default(0),
});
export type RunNotificationMessage = z.infer<typeof runNotificationMessageSchema>;

/** A claimed channel is another delivery's for this long (then a redelivery takes it over). */
export const CLAIM_MS = 30_000;

export type ChannelOutcome = 'sent' | 'already-sent' | 'deferred' | 'retrying' | 'gave-up';

/**
 * The fan-in's hook, after the transition that ended the run (called by its winner only): asks for
 * the notification when the connection wants one for this ending. Never fails the fan-in: a
 * notification that cannot be asked for is noted on the run's error log.
 */
export async function requestRunNotification(deps: PipelineDeps, ref: RunRef, run: Row): Promise<boolean> {
  const state = run.state;
  if (!isRunNotificationState(state)) return false;
  try {
    const connection = await deps.connections.get(ref.tenantId);
    if (notificationChannels(connection?.settings.notifications, state).length === 0) return false;
    const message: RunNotificationMessage = { type: 'run-notification', ...pick(ref), state, attempt: 0 };
    await deps.queues.send(QUEUES.runNotifications, message);
    return true;
  } catch (error) {
    const note = {
      category: 'transient' as const,
      objectId: null,
      message: `the run's notification could not be queued: ${ensureError(error).message}`,
      source: 'notification',
    };
    try {
      await deps.runs.recordErrors(ref, [note], deps.now().toISOString());
    } catch {
      // The run has ended either way; its notification is the only thing lost.
    }
    return false;
  }
}

/** The consumer of `run-notifications`: sends what is due on each channel, once. */
export async function deliverRunNotification(
  deps: RunNotificationDeps,
  message: RunNotificationMessage,
  log: Logger,
): Promise<Partial<Record<RunNotificationChannel, ChannelOutcome>>> {
  const { pipeline } = deps;
  const ref: RunRef = pick(message);
  const context = { tenantId: ref.tenantId, runId: ref.runId, state: message.state };
  const [run, connection] = await Promise.all([
    pipeline.runs.get(ref),
    pipeline.connections.get(ref.tenantId),
  ]);
  if (!run || !connection) {
    log.warn('run notification for an unknown run or connection: nothing sent', context);
    return {};
  }
  const settings = connection.settings;
  const channels = notificationChannels(settings.notifications, message.state).filter(
    (channel) => message.channel === undefined || channel === message.channel,
  );
  if (channels.length === 0) return {};
  const summary = summarize(run, await pipeline.runs.listErrors(ref));
  const content = runNotificationContent({
    connection: settings,
    state: message.state,
    run: summary,
    links: runLinks(deps.links.publicBaseUrl, deps.links.cli, ref.tenantId, ref.runId),
    now: pipeline.now(),
  });
  const outcomes: Partial<Record<RunNotificationChannel, ChannelOutcome>> = {};
  for (const channel of channels) {
    const send = async (secrets: string[]): Promise<void> => {
      if (channel === 'mail') {
        const mail = settings.notifications!.mail!;
        const mailer = await deps.mailerFor(settings);
        await mailer.send({ from: mail.from, to: mail.to, subject: content.subject, text: content.text });
        return;
      }
      const webhook = settings.notifications!.webhook!;
      const secret = await deps.secrets.getSecret(webhook.secretName);
      secrets.push(secret);
      await deps.webhooks.send(webhook.url, secret, content.payload, {
        id: notificationId(ref, message.state),
        timestamp: pipeline.now(),
      });
    };
    outcomes[channel] = await deliverOnce(deps, ref, message, channel, send, settings, log);
  }
  return outcomes;
}

/** The id a receiver sees on every attempt of one notification (Standard Webhooks' `webhook-id`). */
export function notificationId(ref: Pick<RunRef, 'runId'>, state: RunNotificationState): string {
  return `run_${ref.runId}_${state}`;
}

/** Seconds before attempt `attempts + 1`, after `attempts` failed ones (at least 1). */
export function retryDelaySeconds(retry: RunNotificationRetry, attempts: number): number {
  return Math.min(retry.maxDelaySeconds, retry.baseDelaySeconds * 2 ** Math.max(0, attempts - 1));
}

async function deliverOnce(
  deps: RunNotificationDeps,
  ref: RunRef,
  message: RunNotificationMessage,
  channel: RunNotificationChannel,
  send: (secrets: string[]) => Promise<void>,
  settings: ConnectionSettings,
  log: Logger,
): Promise<ChannelOutcome> {
  const { pipeline, retry } = deps;
  const context = { tenantId: ref.tenantId, runId: ref.runId, state: message.state, channel };
  const claim = await claimChannel(pipeline, ref, message.state, channel);
  if (claim.kind === 'busy') {
    // Another delivery holds the channel: look again once its claim is over (it may have died).
    const delaySeconds = Math.ceil(claim.forMs / 1000) + 1;
    await pipeline.queues.send(QUEUES.runNotifications, { ...message, channel }, { delaySeconds });
    log.info('run notification is being sent by another delivery; looking again later', context);
    return 'deferred';
  }
  if (claim.kind !== 'claimed') return claim.kind;
  const attempts = claim.attempts + 1;
  const secrets: string[] = [];
  try {
    await send(secrets);
    await pipeline.tables.upsert(TABLES.runChunks, {
      ...keys(ref, message.state, channel),
      status: 'sent' satisfies ChannelStatus,
      attempts,
      sentAt: pipeline.now().toISOString(),
    });
    log.info('run notification sent', { ...context, attempts });
    return 'sent';
  } catch (thrown) {
    const error = ensureError(thrown);
    const reason = redact(error.message, secrets).slice(0, 1000);
    const permanent = error instanceof SyncError && !error.transient;
    const gaveUp = permanent || attempts >= retry.maxAttempts;
    await pipeline.tables.upsert(TABLES.runChunks, {
      ...keys(ref, message.state, channel),
      status: (gaveUp ? 'failed' : 'pending') satisfies ChannelStatus,
      attempts,
      lastError: reason,
      lastAttemptAt: pipeline.now().toISOString(),
    });
    if (gaveUp) {
      const target =
        channel === 'mail' ? `mail from ${settings.notifications?.mail?.from ?? '?'}` : 'webhook';
      await pipeline.runs.recordErrors(
        ref,
        [
          {
            category: error instanceof SyncError ? error.category : 'transient',
            objectId: null,
            message: `the run's ${message.state} notification by ${target} was not sent after ${attempts} attempt(s): ${reason}`,
            source: `notification:${channel}`,
          },
        ],
        pipeline.now().toISOString(),
      );
      log.error('run notification not sent: gave up', { ...context, attempts, error: reason });
      return 'gave-up';
    }
    const delaySeconds = retryDelaySeconds(retry, attempts);
    const next: RunNotificationMessage = { ...message, channel, attempt: attempts };
    await pipeline.queues.send(QUEUES.runNotifications, next, { delaySeconds });
    log.warn('run notification failed; retrying', { ...context, attempts, delaySeconds, error: reason });
    return 'retrying';
  }
}

type ChannelStatus = 'sending' | 'pending' | 'sent' | 'failed';

type Claim =
  | { readonly kind: 'claimed'; readonly attempts: number }
  | { readonly kind: 'busy'; readonly forMs: number }
  | { readonly kind: 'already-sent' | 'gave-up' };

/** Takes the channel for one attempt (ETag), unless it is sent, given up, or another delivery's now. */
async function claimChannel(
  deps: PipelineDeps,
  ref: RunRef,
  state: RunNotificationState,
  channel: RunNotificationChannel,
): Promise<Claim> {
  const now = deps.now().getTime();
  const claimed = (attempts: number): Row => ({
    ...keys(ref, state, channel),
    status: 'sending' satisfies ChannelStatus,
    attempts,
    claimedUntil: now + CLAIM_MS,
  });
  for (let round = 0; round < 10; round += 1) {
    const row = await deps.tables.get(TABLES.runChunks, ...keyPair(ref, state, channel));
    if (!row) {
      if (await deps.tables.createIfAbsent(TABLES.runChunks, claimed(0)))
        return { kind: 'claimed', attempts: 0 };
      continue;
    }
    const attempts = Number(row.attempts ?? 0);
    if (row.status === ('sent' satisfies ChannelStatus)) return { kind: 'already-sent' };
    if (row.status === ('failed' satisfies ChannelStatus)) return { kind: 'gave-up' };
    const until = Number(row.claimedUntil ?? 0);
    if (row.status === ('sending' satisfies ChannelStatus) && until > now) {
      return { kind: 'busy', forMs: until - now };
    }
    try {
      await deps.tables.replaceIfMatch(TABLES.runChunks, claimed(attempts), row.etag!);
      return { kind: 'claimed', attempts };
    } catch (error) {
      if (!isWriteConflict(error)) throw error;
    }
  }
  return { kind: 'busy', forMs: 1000 };
}

function keyPair(ref: RunRef, state: string, channel: string): [string, string] {
  return [`${ref.tenantId}|${ref.runId}|notifications`, `${state}.${channel}`];
}

function keys(ref: RunRef, state: string, channel: string): { partitionKey: string; rowKey: string } {
  const [partitionKey, rowKey] = keyPair(ref, state, channel);
  return { partitionKey, rowKey };
}

function pick(ref: RunRef): RunRef {
  return { tenantId: ref.tenantId, runId: ref.runId, runKey: ref.runKey };
}

/** An error's text with the secrets taken out, should a library ever echo one. */
function redact(text: string, secrets: readonly string[]): string {
  return secrets.reduce(
    (out, secret) => (secret.length >= 8 ? out.split(secret).join('[secret]') : out),
    text,
  );
}
