/**
 * Where a run's notification leaves the app: a mail through Graph `sendMail` from a mailbox of the
 * connection's tenant, and a signed webhook. Each throws on failure (a transient error is retried with
 * back-off, a permanent one is recorded at once); neither ever logs or returns a secret.
 */
export interface RunMail {
  /** The sending mailbox (UPN or object id). */
  readonly from: string;
  readonly to: readonly string[];
  readonly subject: string;
  /** Plain text (no HTML: names from the directory are never markup). */
  readonly text: string;
}

export interface RunMailer {
  send(mail: RunMail): Promise<void>;
}

export interface SignedWebhookDelivery {
  /** Stable for every attempt of one notification (the receiver's idempotency key). */
  readonly id: string;
  /** The attempt's time: signed with the body, so a receiver can refuse old or replayed deliveries. */
  readonly timestamp: Date;
}

export interface RunWebhookSender {
  /** POSTs `payload` as JSON to `url`, signed with `secret`; throws unless the receiver answered 2xx. */
  send(url: string, secret: string, payload: unknown, delivery: SignedWebhookDelivery): Promise<void>;
}
