/**
 * How a chunk's changes travel: inline while the message stays within a queue message's 48 KiB of JSON,
 * deflated in the message when only that fits, in Blob Storage beyond; what a message carries always
 * reads back as the same changes, and a payload that does not inflate is a permanent, named error.
 */
import { randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { MAX_INLINE_PAYLOAD_BYTES } from '../../../src/adapters/storage/queue-gateway.js';
import type { DirectoryChange, UserChange } from '../../../src/domain/directory.js';
import { PermanentError } from '../../../src/shared/errors.js';
import { chunkPayload, inflateChanges, MAX_INFLATED_BYTES } from '../../../src/usecases/chunk-payload.js';
import { type DirectoryChunk, directoryChunkSchema } from '../../../src/usecases/messages.js';

const header: DirectoryChunk = {
  type: 'directory-chunk',
  tenantId: '11111111-2222-3333-4444-555555555555',
  runId: 'run-1',
  runKey: 'key-1',
  chunkIndex: 7,
  partition: 'users:12',
  fresh: true,
  buckets: 64,
};

/** A user as a first round reads it: every mapped property, a few proxy addresses. */
function hire(i: number, noise = ''): UserChange {
  const name = `Person ${i}${noise}`;
  return {
    kind: 'user',
    id: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`,
    version: String(i).padStart(8, '0'),
    facts: {
      displayName: name,
      givenName: 'Person',
      surname: `${i}${noise}`,
      mail: `person.${i}@contoso.example`,
      userPrincipalName: `person.${i}@contoso.example`,
      jobTitle: 'Engineer',
      department: `Department ${i % 12}`,
      officeLocation: 'Building 4',
      employeeId: `E${i}`,
      employeeHireDate: '2021-03-01T00:00:00Z',
      accountEnabled: true,
      userType: 'Member',
      proxyAddresses: [`SMTP:person.${i}@contoso.example`, `smtp:p${i}@contoso.example`],
      more: { city: 'Montréal', country: 'Canada', mobilePhone: `+1 555 01${i % 100}` },
    },
  };
}

function messageBytes(message: unknown): number {
  return Buffer.byteLength(JSON.stringify(message), 'utf8');
}

/** What the reconciler reads back from a message the publisher built (parsed as the queue trigger does). */
function readBack(payload: ReturnType<typeof chunkPayload>): DirectoryChange[] {
  const message = directoryChunkSchema.parse(JSON.parse(JSON.stringify({ ...header, ...payload })));
  if (message.changes) return message.changes;
  return inflateChanges(message.chunkIndex, message.changesDeflated!) as DirectoryChange[];
}

describe('chunk payload', () => {
  it('carries a small chunk as plain changes', () => {
    const changes = [hire(1), hire(2)];
    const payload = chunkPayload(header, changes);
    expect(payload).toEqual({ changes });
  });

  it("carries a first round's bucket of a hundred users deflated in the message, not behind a claim check", () => {
    const changes = Array.from({ length: 100 }, (_, i) => hire(i));
    expect(messageBytes({ ...header, changes })).toBeGreaterThan(MAX_INLINE_PAYLOAD_BYTES);
    const payload = chunkPayload(header, changes);
    expect(payload).toHaveProperty('changesDeflated');
    expect(messageBytes({ ...header, ...payload })).toBeLessThanOrEqual(MAX_INLINE_PAYLOAD_BYTES);
    expect(readBack(payload)).toEqual(changes);
  });

  it('sends to Blob Storage only changes that do not fit a message even deflated', () => {
    // Random text does not deflate.
    const changes = Array.from({ length: 60 }, (_, i) => hire(i, randomBytes(600).toString('base64')));
    expect(chunkPayload(header, changes)).toEqual({ claimCheck: true });
  });

  it('every message it builds fits a queue message and reads back as the same changes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 400 }), fc.string({ maxLength: 40 }), (count, noise) => {
        const changes = Array.from({ length: count }, (_, i) => hire(i, noise));
        const payload = chunkPayload(header, changes);
        if ('claimCheck' in payload) return;
        expect(messageBytes({ ...header, ...payload })).toBeLessThanOrEqual(MAX_INLINE_PAYLOAD_BYTES);
        expect(readBack(payload)).toEqual(changes);
      }),
      { numRuns: 40 },
    );
  });

  it('a deflated payload that is not deflate, or inflates past its bound, is a permanent invalid-data error naming the chunk', () => {
    const notDeflate = () => inflateChanges(7, Buffer.from('plain text, not deflate').toString('base64'));
    expect(notDeflate).toThrow(PermanentError);
    expect(notDeflate).toThrow(/chunk 7's deflated changes cannot be read/);
    const bomb = deflateRawSync(Buffer.alloc(MAX_INFLATED_BYTES + 1, 32)).toString('base64');
    expect(() => inflateChanges(7, bomb)).toThrow(PermanentError);
    try {
      inflateChanges(7, bomb);
    } catch (error) {
      expect((error as PermanentError).category).toBe('invalid-data');
    }
  });
});
