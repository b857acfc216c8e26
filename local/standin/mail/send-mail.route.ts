/** `POST /users/{id|userPrincipalName}/sendMail`: Graph's validation, 202 with no body, message to the outbox. */
import { randomUUID } from 'node:crypto';

import {
  graphError,
  type RouteHandler,
  type StandinRequest,
  type StandinResponse,
} from '../http/route-table.js';
import type { MailDeps, MailSender } from './index.js';
import type { MailOutbox, SentMail } from './mail-outbox.js';
import { decodeMimeBase64, summarizeMime } from './mime-message.js';
import { isValidAddress, saveToSentItemsFlag, sendMailJsonBody } from './send-mail.schema.js';

type Deps = MailDeps & { readonly outbox: MailOutbox };
type Draft = Omit<SentMail, 'id' | 'sender' | 'sentDateTime'>;

export function sendMailHandler(deps: Deps): RouteHandler {
  const now = deps.now ?? Date.now;
  return (req, params) => {
    const idOrUpn = params.id ?? '';
    const user = deps.findUser(idOrUpn);
    if (!user) return graphError(404, 'ErrorInvalidUser', `The requested user '${idOrUpn}' is invalid.`);
    const draft = isMime(req) ? mimeDraft(req) : jsonDraft(req);
    if ('status' in draft) return draft;
    const problem = recipientProblem(draft);
    if (problem) return problem;
    deps.outbox.deliver({
      ...draft,
      id: randomUUID(),
      sender: senderOf(user),
      sentDateTime: isoSeconds(now()),
    });
    return { status: 202 };
  };
}

function isMime(req: StandinRequest): boolean {
  return (req.headers['content-type'] ?? '').toLowerCase().startsWith('text/plain');
}

function jsonDraft(req: StandinRequest): Draft | StandinResponse {
  const parsed = sendMailJsonBody.safeParse(req.body);
  if (!parsed.success) {
    const missing = req.body === undefined || req.body === null;
    return graphError(
      400,
      'ErrorInvalidRequest',
      missing
        ? 'Empty Payload. JSON content expected.'
        : `Invalid sendMail body: ${parsed.error.issues[0]?.message}`,
    );
  }
  const { message, saveToSentItems } = parsed.data;
  const list = (value: typeof message.toRecipients) => (value ?? []).map((r) => r.emailAddress.address ?? '');
  return {
    subject: message.subject ?? '',
    body: { contentType: message.body?.contentType ?? 'Text', content: message.body?.content ?? '' },
    toRecipients: list(message.toRecipients),
    ccRecipients: list(message.ccRecipients),
    bccRecipients: list(message.bccRecipients),
    saveToSentItems: saveToSentItemsFlag(saveToSentItems),
    format: 'json',
  };
}

/** Graph's MIME error has no innerError (fixture error.sendmail.invalid-mime.json). */
function mimeDraft(req: StandinRequest): Draft | StandinResponse {
  const mime = decodeMimeBase64(req.rawBody.toString('utf8'));
  if (mime === undefined) {
    return {
      status: 400,
      body: {
        error: {
          code: 'ErrorMimeContentInvalidBase64String',
          message: 'Invalid base64 string for MIME content.',
        },
      },
    };
  }
  const summary = summarizeMime(mime);
  return {
    subject: summary.subject,
    body: { contentType: summary.contentType, content: summary.content },
    toRecipients: summary.to,
    ccRecipients: summary.cc,
    bccRecipients: summary.bcc,
    saveToSentItems: true,
    format: 'mime',
  };
}

function recipientProblem(draft: Draft): StandinResponse | undefined {
  const all = [...draft.toRecipients, ...draft.ccRecipients, ...draft.bccRecipients];
  if (all.length === 0) {
    return graphError(
      400,
      'ErrorInvalidRecipients',
      "At least one recipient isn't valid., A message can't be sent because it contains no recipients.",
    );
  }
  const invalid = all.find((address) => !isValidAddress(address));
  if (invalid !== undefined) {
    return graphError(
      400,
      'ErrorInvalidRecipients',
      `At least one recipient isn't valid., Recipient '${invalid}' isn't resolved. All recipients must be resolved before a message can be submitted.`,
    );
  }
  return undefined;
}

function senderOf(user: MailSender): SentMail['sender'] {
  return {
    id: user.id,
    userPrincipalName: user.userPrincipalName,
    address: user.mail ?? user.userPrincipalName,
  };
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
