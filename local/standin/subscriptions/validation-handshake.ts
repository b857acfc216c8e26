/**
 * Graph's endpoint validation: `POST {url}?validationToken=<token>` (text/plain), and the endpoint must answer
 * 200, `text/plain`, with the URL-decoded token as the body, within the timeout.
 */
import { randomUUID } from 'node:crypto';

import type { RuleViolation } from './subscription-request.schema.js';

export interface HandshakeResult {
  readonly status: number | undefined;
  /** Undefined when the endpoint validated. */
  readonly violation: RuleViolation | undefined;
}

/** A token like Graph's: spaces and a colon, so an endpoint that echoes it still URL-encoded fails. */
export function newValidationToken(): string {
  return `Validation: Testing client application reachability for subscription Request-Id: ${randomUUID()}`;
}

export function validationUrl(url: string, token: string): string {
  const target = new URL(url);
  target.searchParams.set('validationToken', token);
  return target.toString();
}

export async function validateEndpoint(url: string, timeoutMs: number): Promise<HandshakeResult> {
  const token = newValidationToken();
  let response: Response;
  try {
    response = await fetch(validationUrl(url, token), {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const timedOut = error instanceof Error && error.name === 'TimeoutError';
    return {
      status: undefined,
      violation: timedOut
        ? { code: 'InvalidRequest', message: 'Subscription validation request timed out.' }
        : { code: 'ValidationError', message: notOkMessage },
    };
  }
  const body = await response.text().catch(() => '');
  if (response.status !== 200)
    return { status: response.status, violation: { code: 'ValidationError', message: notOkMessage } };
  const contentType = response.headers.get('content-type') ?? '';
  if (body !== token || !contentType.toLowerCase().startsWith('text/plain')) {
    return {
      status: response.status,
      violation: {
        code: 'ValidationError',
        message:
          'Subscription validation request failed. Response must exactly match validationToken query parameter.',
      },
    };
  }
  return { status: response.status, violation: undefined };
}

const notOkMessage =
  'Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.';
