/**
 * Graph `POST /users/{id|userPrincipalName}/sendMail` for the stand-in: validates the message like Graph,
 * answers 202 with no body, and drops the message into an in-memory outbox that tests read.
 */
import type { RouteTable } from '../http/route-table.js';
import { createMailOutbox, type MailOutbox } from './mail-outbox.js';
import { sendMailHandler } from './send-mail.route.js';

export { createMailOutbox, type MailOutbox, type SentMail } from './mail-outbox.js';

/** What the mail plug-in needs from the stand-in core. */
export interface MailSender {
  readonly id: string;
  readonly userPrincipalName: string;
  readonly mail?: string | null;
}

export interface MailDeps {
  /** Finds a live (not deleted) user by object id or userPrincipalName (case-insensitive); undefined if none. */
  readonly findUser: (idOrUserPrincipalName: string) => MailSender | undefined;
  /** Outbox to deliver into; a fresh one is created when absent. */
  readonly outbox?: MailOutbox;
  /** Clock in ms since the epoch (defaults to Date.now). */
  readonly now?: () => number;
}

/** Registers `POST /users/{id}/sendMail` (needs the `Mail.Send` application permission) and returns the outbox. */
export function registerMailRoutes(routes: RouteTable, deps: MailDeps): MailOutbox {
  const outbox = deps.outbox ?? createMailOutbox();
  routes.add('POST', '/users/{id}/sendMail', sendMailHandler({ ...deps, outbox }), {
    anyOfRoles: ['Mail.Send'],
  });
  return outbox;
}
