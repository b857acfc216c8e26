import { deflateRawSync, inflateRawSync } from 'node:zlib';

import { MAX_INLINE_PAYLOAD_BYTES } from '../adapters/storage/queue-gateway.js';
import type { DirectoryChange } from '../domain/directory.js';
import { PermanentError } from '../shared/errors.js';
import type { DirectoryChunk } from './messages.js';

/**
 * How a chunk's changes travel with its message. A queue message holds 48 KiB of JSON (64 KiB once
 * base64-encoded), and a first round's chunk of a bucket (dozens of users with every mapped property and
 * their memberships) is two or three times that: as plain JSON it would need a claim-check blob, three
 * more storage requests a chunk (upload, download, delete). Deflated and base64-encoded it is about
 * a fifth of that (100 users with their ids and 300 memberships: 95 KB of JSON, 21 KB), so it is carried
 * in the message deflated (`changesDeflated`) and only what does not fit even then goes to Blob Storage.
 */
export type ChunkPayload =
  | { readonly changes: DirectoryChange[] }
  | { readonly changesDeflated: string }
  | { readonly claimCheck: true };

/** Inflated changes larger than this are refused (a message cannot legitimately carry more). */
export const MAX_INFLATED_BYTES = 16 * 1024 * 1024;

/** Fastest deflate: a chunk's JSON is repetitive enough that more effort saves little. */
const DEFLATE_LEVEL = 1;

export function chunkPayload(header: DirectoryChunk, changes: DirectoryChange[]): ChunkPayload {
  // The message's JSON is its header's with one more field: `{…header,"changes":[…]}`.
  const headerBytes = Buffer.byteLength(JSON.stringify(header), 'utf8');
  const json = JSON.stringify(changes);
  if (headerBytes + ',"changes":'.length + Buffer.byteLength(json, 'utf8') <= MAX_INLINE_PAYLOAD_BYTES)
    return { changes };
  const changesDeflated = deflateRawSync(json, { level: DEFLATE_LEVEL }).toString('base64');
  if (headerBytes + ',"changesDeflated":""'.length + changesDeflated.length <= MAX_INLINE_PAYLOAD_BYTES)
    return { changesDeflated };
  return { claimCheck: true };
}

/** The JSON a `changesDeflated` field carries, parsed; a payload that does not inflate is permanent. */
export function inflateChanges(chunkIndex: number, deflated: string): unknown {
  try {
    const json = inflateRawSync(Buffer.from(deflated, 'base64'), { maxOutputLength: MAX_INFLATED_BYTES });
    return JSON.parse(json.toString('utf8')) as unknown;
  } catch (error) {
    throw new PermanentError(
      `chunk ${chunkIndex}'s deflated changes cannot be read: ${(error as Error).message}`,
      'invalid-data',
    );
  }
}
