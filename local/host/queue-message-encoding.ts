import type { RpcTypedData } from './core-api-types.js';

export type QueueMessageEncoding = 'base64' | 'none';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes a stored message text into the content the function sees; undefined when it is not valid base64. */
export function decodeQueueMessage(messageText: string, encoding: QueueMessageEncoding): string | undefined {
  if (encoding === 'none') return messageText;
  if (!BASE64.test(messageText)) return undefined;
  return Buffer.from(messageText, 'base64').toString('utf8');
}

/** Encodes content (text or raw bytes) into the message text stored in the queue. */
export function encodeQueueMessage(content: string | Uint8Array, encoding: QueueMessageEncoding): string {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
  return encoding === 'base64' ? bytes.toString('base64') : bytes.toString('utf8');
}

/** The host's typed data for a message: JSON object/array text as `json`, anything else as `string`. */
export function queueMessageTypedData(content: string): RpcTypedData {
  const trimmed = content.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      JSON.parse(trimmed);
      return { json: content };
    } catch {
      return { string: content };
    }
  }
  return { string: content };
}

/**
 * Turns an output binding's value into message contents, like the host's queue output binding: an array is
 * one message per element; strings and bytes are sent as they are; other values are JSON-serialised.
 */
export function outputMessages(data: RpcTypedData): (string | Uint8Array)[] {
  if (typeof data.string === 'string') return [data.string];
  if (data.bytes) return [data.bytes];
  if (typeof data.int === 'number') return [String(data.int)];
  if (typeof data.double === 'number') return [String(data.double)];
  if (typeof data.json === 'string') {
    const value: unknown = JSON.parse(data.json);
    const items: unknown[] = Array.isArray(value) ? value : [value];
    return items.map((item) => (typeof item === 'string' ? item : JSON.stringify(item)));
  }
  return [];
}
