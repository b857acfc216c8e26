/**
 * sendMail's MIME form: the body is a base64 string of a MIME message (`Content-Type: text/plain`). Only
 * the headers the outbox shows are read (Subject, To, Cc, Bcc, Content-Type) and the first body part as text.
 */

export interface MimeSummary {
  readonly subject: string;
  readonly to: readonly string[];
  readonly cc: readonly string[];
  readonly bcc: readonly string[];
  readonly contentType: string;
  readonly content: string;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Decodes the base64 body; undefined when it is not valid base64 (Graph: ErrorMimeContentInvalidBase64String). */
export function decodeMimeBase64(raw: string): string | undefined {
  const compact = raw.replace(/\s+/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || !BASE64.test(compact)) return undefined;
  return Buffer.from(compact, 'base64').toString('utf8');
}

export function summarizeMime(mime: string): MimeSummary {
  const separator = mime.search(/\r?\n\r?\n/);
  const head = separator === -1 ? mime : mime.slice(0, separator);
  const content = separator === -1 ? '' : mime.slice(separator).replace(/^\r?\n\r?\n/, '');
  const headers = new Map<string, string>();
  let last = '';
  for (const line of head.split(/\r?\n/)) {
    if (/^\s/.test(line) && last) {
      headers.set(last, `${headers.get(last) ?? ''} ${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    last = line.slice(0, colon).trim().toLowerCase();
    headers.set(last, line.slice(colon + 1).trim());
  }
  return {
    subject: headers.get('subject') ?? '',
    to: addresses(headers.get('to')),
    cc: addresses(headers.get('cc')),
    bcc: addresses(headers.get('bcc')),
    contentType: headers.get('content-type') ?? 'text/plain',
    content,
  };
}

function addresses(header: string | undefined): string[] {
  if (!header) return [];
  return header
    .split(',')
    .map((part) => /<([^>]+)>/.exec(part)?.[1] ?? part.trim())
    .filter((address) => address.length > 0);
}
