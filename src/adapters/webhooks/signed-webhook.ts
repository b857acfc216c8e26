import { Webhook } from 'standardwebhooks';

/**
 * Signed webhooks, as the Standard Webhooks spec defines them (https://www.standardwebhooks.com):
 * the body is JSON, and three headers let the receiver check it: `webhook-id` (the message's id,
 * the same on every retry, so the receiver can drop duplicates), `webhook-timestamp` (Unix seconds,
 * so it can refuse old replays) and `webhook-signature` (`v1,<base64 HMAC-SHA256 of
 * "<id>.<timestamp>.<body>">`). Signing and verifying are the `standardwebhooks` library's, not ours.
 *
 * The secret: a Standard Webhooks secret (`whsec_<base64>`) is used as the spec says; any other
 * string's UTF-8 bytes are the HMAC key. It is read from Key Vault by the caller and never logged,
 * stored or put in an error message here.
 */
export interface SignedDelivery {
  /** The message id: stable across retries of the same message (the receiver's dedup key). */
  readonly id: string;
  /** When this attempt is signed (each retry is signed anew with its own time). */
  readonly timestamp: Date;
  /** Abort the request after this long (default 10 s). */
  readonly timeoutMs?: number;
}

export type DeliveryResult =
  | { readonly delivered: true; readonly status: number }
  | { readonly delivered: false; readonly status?: number; readonly reason: string };

export const WEBHOOK_HEADERS = {
  id: 'webhook-id',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
} as const;

function webhookOf(secret: string): Webhook {
  if (secret === '') throw new Error('a webhook signing secret is empty');
  return secret.startsWith('whsec_')
    ? new Webhook(secret)
    : new Webhook(new Uint8Array(Buffer.from(secret, 'utf8')), { format: 'raw' });
}

/** The headers of one signed delivery of `body` (exactly the bytes sent). */
export function signedHeaders(
  secret: string,
  body: string,
  options: { id: string; timestamp: Date },
): Record<string, string> {
  return {
    'content-type': 'application/json',
    [WEBHOOK_HEADERS.id]: options.id,
    [WEBHOOK_HEADERS.timestamp]: String(Math.floor(options.timestamp.getTime() / 1000)),
    [WEBHOOK_HEADERS.signature]: webhookOf(secret).sign(options.id, options.timestamp, body),
  };
}

/**
 * POSTs `payload` as JSON to `url`, signed. Never throws for the receiver's failures: a 2xx is
 * delivered; anything else (a status, a refused connection, a timeout) is a failed attempt with its
 * reason, for the caller's retry policy. The reason never carries the secret or the body.
 */
export async function sendSigned(
  url: string,
  secret: string,
  payload: unknown,
  options: SignedDelivery,
): Promise<DeliveryResult> {
  const body = JSON.stringify(payload);
  const headers = signedHeaders(secret, body, options);
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
    // Drain the body so the connection is reused.
    await response.arrayBuffer().catch(() => undefined);
    if (response.status >= 200 && response.status < 300) return { delivered: true, status: response.status };
    return { delivered: false, status: response.status, reason: `the receiver answered ${response.status}` };
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Error';
    const reason =
      name === 'TimeoutError' || name === 'AbortError'
        ? 'the receiver did not answer in time'
        : `the request failed (${error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : 'unknown'})`;
    return { delivered: false, reason };
  }
}

/**
 * Checks a received delivery (the receiver's side, and tests): the parsed body when the signature
 * matches and the timestamp is within 5 minutes, else throws `WebhookVerificationError`.
 */
export function verifySigned(secret: string, body: string, headers: Record<string, string>): unknown {
  return webhookOf(secret).verify(body, headers);
}
