/**
 * Issue 11, point 3: run notifications. A run that ends as the connection's `notifications.on` says
 * sends one mail through Graph sendMail (the stand-in's outbox, read through its control API) and one
 * signed webhook (a local HTTPS receiver with a certificate of the stand-in's CA, checked with the
 * Standard Webhooks library), each with the counts, the errors and the approval link; a receiver that
 * fails gets a retry; a redelivered message sends nothing twice; no secret is ever in a mail.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { issueServerCertificate, loadOrCreateCa } from '../../local/standin/tls/local-ca.js';
import { QUEUES, TABLES } from '../../src/adapters/storage/storage-names.js';
import { verifySigned } from '../../src/adapters/webhooks/signed-webhook.js';
import type { ConnectionSettings } from '../../src/domain/connection-settings.js';
import type { RunNotifications, RunNotificationState } from '../../src/domain/run-notifications.js';
import { RunNotificationServices } from '../../src/run-notification-services.js';
import type { RunSummary } from '../../src/usecases/describe-runs.js';
import type { RunNotificationPayload } from '../../src/usecases/run-notification-content.js';
import {
  deliverRunNotification,
  type RunNotificationMessage,
  runNotificationMessageSchema,
} from '../../src/usecases/run-notifications.js';
import { type ApiCall, apiClient } from '../api/api-client.js';
import { PipelineUnderTest } from './pipeline-harness.js';

const PUBLIC_BASE_URL = 'https://sync.contoso.example';
const SECRET_NAME = 'run-notification-webhook-secret';
const ADMINS = ['it-admins@contoso.example', 'oncall@contoso.example'];

interface Delivery {
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly status: number;
}

/** An HTTPS receiver (certificate of the stand-in's CA, which the host trusts) that records every delivery. */
async function startReceiver(): Promise<{
  url: string;
  deliveries: Delivery[];
  failNext: (n: number) => void;
  stop: () => Promise<void>;
}> {
  const ca = await loadOrCreateCa();
  const { certPem, keyPem } = issueServerCertificate(ca, ['127.0.0.1']);
  const deliveries: Delivery[] = [];
  let failures = 0;
  const server: Server = createServer({ cert: certPem, key: keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const status = failures > 0 ? 503 : 200;
      if (failures > 0) failures -= 1;
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([name, value]) => [name, String(value)]),
      );
      deliveries.push({ headers, body: Buffer.concat(chunks).toString('utf8'), status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}/hooks/sync`,
    deliveries,
    failNext: (n) => {
      failures = n;
    },
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 20_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('run notifications', () => {
  let pipeline: PipelineUnderTest;
  let api: ApiCall;
  let tenantId: string;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const hostLogs: string[] = [];
  let mailbox: string;
  let heldRun: RunSummary;
  /** A completed run that sent nothing (its `on` did not name completed). */
  let quietRunId: string;

  const outbox = async () => {
    const response = await fetch(`${pipeline.env.standin.controlUrl}/outbox`);
    expect(response.status).toBe(200);
    return ((await response.json()) as { messages: OutboxMail[] }).messages;
  };
  const settingsNow = async (): Promise<ConnectionSettings> =>
    (await api<{ settings: ConnectionSettings }>('GET', `connections/${tenantId}/settings`)).body.settings;
  async function save(change: Partial<ConnectionSettings>): Promise<RunSummary> {
    const afterRunKey = await pipeline.latestRunKey();
    const saved = await api('PUT', `connections/${tenantId}/settings`, {
      ...(await settingsNow()),
      ...change,
    });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    return pipeline.waitForNextRun(afterRunKey);
  }
  const notifications = (on: RunNotificationState[]): RunNotifications => ({
    on,
    mail: { from: mailbox, to: ADMINS },
    webhook: { url: receiver.url, secretName: SECRET_NAME },
  });
  const mailsOf = async (runId: string) => (await outbox()).filter((m) => m.body.content.includes(runId));
  const hooksOf = (runId: string) =>
    receiver.deliveries.filter((d) => (JSON.parse(d.body) as RunNotificationPayload).data.runId === runId);
  /** Every message of run-notifications is taken and done (none waiting, none in flight). */
  const queueDrained = async () => {
    const queue = pipeline.deps().queues.client(QUEUES.runNotifications);
    await until('run-notifications to drain', async () =>
      (await queue.getProperties()).approximateMessagesCount === 0 ? true : undefined,
    );
  };

  beforeAll(async () => {
    receiver = await startReceiver();
    pipeline = await PipelineUnderTest.start({
      standin: { users: 80, seed: 311 },
      schedule: { kind: 'manual' },
      settings: { SYNC_PUBLIC_BASE_URL: PUBLIC_BASE_URL, SYNC_BUCKETS: '16' },
      onHostEvent: (event) => hostLogs.push(JSON.stringify(event)),
    });
    pipeline.env.standin.secrets.set(SECRET_NAME, secret);
    api = apiClient(() => pipeline.env.host().httpBaseUrl, pipeline.env.functionKey);
    tenantId = pipeline.env.tenantId;
    mailbox = pipeline.control
      .snapshot()
      .users.find(
        (u) => !u.softDeleted && u.accountEnabled === true && u.userType === 'Member',
      )!.userPrincipalName;
    expect((await pipeline.sync('initial')).state).toBe('completed');
  });
  afterAll(async () => {
    await pipeline?.stop();
    await receiver?.stop();
  });

  it('a held run sends exactly one mail to the outbox and one signed webhook, with counts and the approval link; a receiver failing the first attempt gets a retry', async () => {
    receiver.failNext(1);
    heldRun = await save({
      notifications: notifications(['held', 'failed']),
      policy: {
        ...(await settingsNow()).policy,
        scope: { groups: [], filter: null, emailInclude: ['no-such-domain.example'], emailExclude: [] },
      },
    });
    expect(heldRun.state).toBe('held');
    const leaving = (heldRun.gate.heldCounts.removed ?? 0) + (heldRun.gate.heldCounts.deactivated ?? 0);
    expect(leaving).toBeGreaterThan(10);
    const approve = `${PUBLIC_BASE_URL}/api/connections/${tenantId}/runs/${heldRun.runId}/approve`;

    const [mail] = await until('the held run’s mail', async () => {
      const mails = await mailsOf(heldRun.runId);
      return mails.length > 0 ? mails : undefined;
    });
    expect(mail!.sender.userPrincipalName.toLowerCase()).toBe(mailbox.toLowerCase());
    expect(mail!.toRecipients).toEqual(ADMINS);
    expect(mail!.subject).toMatch(/held/);
    expect(mail!.subject).toContain(`${leaving} change(s) wait for approval`);
    expect(mail!.body.content).toContain(`POST ${approve}`);
    expect(mail!.body.content).toContain(
      `entra-sync --url ${PUBLIC_BASE_URL} --tenant ${tenantId} approve ${heldRun.runId}`,
    );
    expect(mail!.body.content).toContain(`removed ${heldRun.gate.heldCounts.removed ?? 0}`);
    expect(mail!.body.content).toContain(heldRun.gate.threshold!);
    expect(mail!.body.content).toMatch(/Errors: \d+/);

    // The first delivery is refused (503); the retry, signed anew, is taken.
    const hooks = await until('the webhook’s retry', () => {
      const got = hooksOf(heldRun.runId);
      return got.length >= 2 ? got : undefined;
    });
    expect(hooks.map((d) => d.status)).toEqual([503, 200]);
    expect(new Set(hooks.map((d) => d.headers['webhook-id'])).size).toBe(1);
    for (const delivery of hooks) {
      const verified = verifySigned(secret, delivery.body, delivery.headers) as RunNotificationPayload;
      expect(Math.abs(Number(delivery.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
      expect(verified.type).toBe('run.held');
      expect(verified.data).toMatchObject({
        tenantId,
        runId: heldRun.runId,
        state: 'held',
        counts: heldRun.counts,
        held: { counts: heldRun.gate.heldCounts, threshold: heldRun.gate.threshold },
        links: { approve, approveMethod: 'POST' },
      });
      expect(verified.data.errors.total).toBe(heldRun.errors.length);
    }
    expect(() =>
      verifySigned(`whsec_${randomBytes(32).toString('base64')}`, hooks[1]!.body, hooks[1]!.headers),
    ).toThrow();

    // Nothing more comes: one mail, one accepted webhook.
    await queueDrained();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await mailsOf(heldRun.runId)).toHaveLength(1);
    expect(hooksOf(heldRun.runId).filter((d) => d.status === 200)).toHaveLength(1);
  });

  it('a redelivered notification message sends nothing twice', async () => {
    const message: RunNotificationMessage = {
      type: 'run-notification',
      tenantId,
      runId: heldRun.runId,
      runKey: (await pipeline.deps().runs.list(tenantId, 10)).find((r) => r.runId === heldRun.runId)!.rowKey,
      state: 'held',
      attempt: 0,
    };
    const queues = pipeline.deps().queues;
    await Promise.all([
      queues.send(QUEUES.runNotifications, message),
      queues.send(QUEUES.runNotifications, message),
      queues.send(QUEUES.runNotifications, { ...message, channel: 'webhook', attempt: 1 }),
    ]);
    await queueDrained();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await mailsOf(heldRun.runId)).toHaveLength(1);
    expect(hooksOf(heldRun.runId).filter((d) => d.status === 200)).toHaveLength(1);
    const rows = await pipeline
      .deps()
      .tables.listPartition(TABLES.runChunks, `${tenantId}|${heldRun.runId}|notifications`);
    expect(rows.map((r) => [r.rowKey, r.status, r.attempts])).toEqual([
      ['held.mail', 'sent', 1],
      ['held.webhook', 'sent', 2],
    ]);
  });

  it('a completed run notifies only when `on` includes it', async () => {
    const rejected = await api('POST', `connections/${tenantId}/runs/${heldRun.runId}/reject`, {
      by: 'test',
    });
    expect(rejected.status).toBe(200);
    // A round with nothing to do completes: `on` does not name completed, so nothing is sent.
    const quiet = await pipeline.sync();
    expect(quiet.state).toBe('completed');
    quietRunId = quiet.runId;
    await queueDrained();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await mailsOf(quiet.runId)).toEqual([]);
    expect(hooksOf(quiet.runId)).toEqual([]);
    expect(
      await pipeline
        .deps()
        .tables.listPartition(TABLES.runChunks, `${tenantId}|${quiet.runId}|notifications`),
    ).toEqual([]);

    const told = await save({
      notifications: notifications(['held', 'completed']),
      policy: {
        ...(await settingsNow()).policy,
        scope: { groups: [], filter: null, emailInclude: [], emailExclude: [] },
      },
    });
    expect(told.state).toBe('completed');
    const mails = await until('the completed run’s mail', async () => {
      const found = await mailsOf(told.runId);
      return found.length > 0 ? found : undefined;
    });
    const hook = await until('the completed run’s webhook', () => hooksOf(told.runId)[0]);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toMatch(/completed/);
    expect(mails[0]!.body.content).not.toContain('/approve');
    expect((verifySigned(secret, hook.body, hook.headers) as RunNotificationPayload).type).toBe(
      'run.completed',
    );
  });

  it('a mail that cannot be sent (an unknown mailbox) is not retried and is on the run’s error log; the webhook still goes', async () => {
    const before = receiver.deliveries.length;
    const run = await save({
      notifications: {
        ...notifications(['completed']),
        mail: { from: 'nobody@contoso.example', to: ADMINS },
      },
    });
    expect(run.state).toBe('completed');
    const errors = await until('the mail’s failure on the run', async () => {
      const found = (await api<{ runs: RunSummary[] }>('GET', `connections/${tenantId}/runs?top=20`)).body
        .runs;
      const listed = (found.find((r) => r.runId === run.runId)?.errors ?? []).filter((e) =>
        /notification by mail/.test(e.message),
      );
      return listed.length > 0 ? listed : undefined;
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(
      /completed notification by mail from nobody@contoso\.example was not sent after 1 attempt\(s\)/,
    );
    await until('the webhook', () => (hooksOf(run.runId).length > 0 ? true : undefined));
    expect(receiver.deliveries.length).toBe(before + 1);
    expect(await mailsOf(run.runId)).toEqual([]);
  });

  it('no secret is ever in a mail, a webhook body, a table row or the host’s logs', async () => {
    const secrets = [
      secret,
      secret.slice('whsec_'.length),
      pipeline.env.standin.clientSecret,
      pipeline.env.functionKey,
    ];
    const mails = JSON.stringify(await outbox());
    const bodies = receiver.deliveries.map((d) => d.body).join('\n');
    const deps = pipeline.deps();
    const rows = JSON.stringify([
      ...(await deps.tables.listPartition(TABLES.runChunks, `${tenantId}|${heldRun.runId}|notifications`)),
      ...(await deps.runs.listErrors({ tenantId, runId: heldRun.runId })),
      ...(await deps.connections.list()),
    ]);
    const logs = hostLogs.join('\n');
    expect(mails.length).toBeGreaterThan(100);
    for (const value of secrets) {
      expect(mails.includes(value)).toBe(false);
      expect(bodies.includes(value)).toBe(false);
      expect(rows.includes(value)).toBe(false);
      expect(logs.includes(value)).toBe(false);
    }
  });

  // Last: it stops the host, to be the queue's only consumer with a short back-off of its own.
  it('a receiver that keeps failing is tried maxAttempts times with growing delays, then the run’s error log says so', async () => {
    const run = await save({ notifications: { on: ['completed'], webhook: notifications([]).webhook } });
    expect(run.state).toBe('completed');
    await until('the save’s own webhook', () => (hooksOf(run.runId).length > 0 ? true : undefined));
    await queueDrained();
    await pipeline.env.host().stop();
    receiver.failNext(1000);

    const { standin } = pipeline.env;
    const services = new RunNotificationServices(
      pipeline.env.services,
      {
        AZURE_TENANT_ID: standin.tenantId,
        AZURE_CLIENT_ID: standin.clientId,
        AZURE_CLIENT_SECRET: standin.clientSecret,
        AZURE_AUTHORITY_HOST: standin.authorityHost,
      },
      { maxAttempts: 3, baseDelaySeconds: 1, maxDelaySeconds: 4 },
    );
    const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const row = (await pipeline.deps().runs.list(tenantId, 20)).find((r) => r.runId === quietRunId)!;
    const ref = { tenantId, runId: String(row.runId), runKey: row.rowKey };
    const first: RunNotificationMessage = {
      type: 'run-notification',
      ...ref,
      state: 'completed',
      attempt: 0,
    };
    const outcomes = [(await deliverRunNotification(services.deps(), first, quiet)).webhook];
    const queue = pipeline.deps().queues.client(QUEUES.runNotifications);
    while (outcomes.at(-1) === 'retrying') {
      const { receivedMessageItems: [item] = [] } = await queue.receiveMessages({ visibilityTimeout: 30 });
      if (!item) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      const message = runNotificationMessageSchema.parse(
        JSON.parse(Buffer.from(item.messageText, 'base64').toString('utf8')),
      );
      outcomes.push((await deliverRunNotification(services.deps(), message, quiet)).webhook);
      await queue.deleteMessage(item.messageId, item.popReceipt);
    }
    expect(outcomes).toEqual(['retrying', 'retrying', 'gave-up']);
    const attempts = hooksOf(ref.runId);
    expect(attempts.map((d) => d.status)).toEqual([503, 503, 503]);
    const times = attempts.map((d) => Number(d.headers['webhook-timestamp']));
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(1);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(times[1]! - times[0]!);
    const errors = await pipeline.deps().runs.listErrors(ref);
    expect(errors.map((e) => [e.source, e.message])).toContainEqual([
      'notification:webhook',
      `the run's completed notification by webhook was not sent after 3 attempt(s): webhook ${receiver.url}: the receiver answered 503`,
    ]);
    // A redelivery after it gave up sends nothing.
    expect((await deliverRunNotification(services.deps(), first, quiet)).webhook).toBe('gave-up');
    expect(hooksOf(ref.runId)).toHaveLength(3);

    // Two copies delivered at once: one sends, the other finds it claimed and looks again later.
    receiver.failNext(0);
    const heldRef = (await pipeline.deps().runs.list(tenantId, 20)).find((r) => r.runId === heldRun.runId)!;
    const copy: RunNotificationMessage = {
      ...first,
      runId: heldRun.runId,
      runKey: heldRef.rowKey,
    };
    const both = await Promise.all([
      deliverRunNotification(services.deps(), copy, quiet),
      deliverRunNotification(services.deps(), copy, quiet),
    ]);
    const outcomes2 = both.map((o) => o.webhook);
    expect(outcomes2.filter((o) => o === 'sent')).toHaveLength(1);
    expect(outcomes2.filter((o) => o !== 'sent')[0]).toMatch(/^(deferred|already-sent)$/);
    const completedHooks = hooksOf(heldRun.runId).filter(
      (d) => (JSON.parse(d.body) as RunNotificationPayload).type === 'run.completed',
    );
    expect(completedHooks).toHaveLength(1);
  });
});

interface OutboxMail {
  readonly sender: { readonly userPrincipalName: string };
  readonly subject: string;
  readonly body: { readonly content: string };
  readonly toRecipients: readonly string[];
}
