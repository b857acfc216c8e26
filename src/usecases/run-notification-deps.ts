import type { ConnectionSettings } from '../domain/connection-settings.js';
import type { RunMailer, RunWebhookSender } from '../ports/run-notification-senders.js';
import type { SecretStore } from '../ports/secret-store.js';
import type { PipelineDeps } from './pipeline-deps.js';

/** What run notifications need (built by src/run-notification-services.ts). */
export interface RunNotificationDeps {
  readonly pipeline: PipelineDeps;
  /** Graph `sendMail` on the connection's own credential (its Mail.Send application permission). */
  mailerFor(connection: ConnectionSettings): Promise<RunMailer>;
  readonly webhooks: RunWebhookSender;
  /** Key Vault: the webhook's signing secret, by name. */
  readonly secrets: SecretStore;
  readonly links: {
    /** `https://<app>`: the approval link's origin (undefined: links are given as paths). */
    readonly publicBaseUrl: string | undefined;
    /** How the CLI is invoked, for the "approve from a script" line. */
    readonly cli: string;
  };
  readonly retry: RunNotificationRetry;
}

/** Delivery attempts per channel, and the back-off between them (delay = base · 2^(n-1), capped). */
export interface RunNotificationRetry {
  readonly maxAttempts: number;
  readonly baseDelaySeconds: number;
  readonly maxDelaySeconds: number;
}

export const DEFAULT_RUN_NOTIFICATION_RETRY: RunNotificationRetry = {
  maxAttempts: 6,
  baseDelaySeconds: 2,
  maxDelaySeconds: 300,
};
