/** Where the stand-in's sendMail puts messages instead of sending them; tests and the control API read it. */

export interface SentMail {
  readonly id: string;
  /** The mailbox the app sent as (`/users/{id|upn}/sendMail`). */
  readonly sender: { readonly id: string; readonly userPrincipalName: string; readonly address: string };
  readonly subject: string;
  readonly body: { readonly contentType: string; readonly content: string };
  readonly toRecipients: readonly string[];
  readonly ccRecipients: readonly string[];
  readonly bccRecipients: readonly string[];
  readonly saveToSentItems: boolean;
  /** `json` for a Graph message object, `mime` for a base64 MIME body. */
  readonly format: 'json' | 'mime';
  readonly sentDateTime: string;
}

export interface MailOutbox {
  /** Messages in the order they were sent. */
  messages(): readonly SentMail[];
  clear(): void;
  deliver(mail: SentMail): void;
}

export function createMailOutbox(): MailOutbox {
  let sent: SentMail[] = [];
  return {
    messages: () => [...sent],
    clear: () => {
      sent = [];
    },
    deliver: (mail) => {
      sent.push(mail);
    },
  };
}
