/**
 * Which partitions of an incremental flush share a message: every change in exactly one message, each
 * partition's changes in order, no message over its bounds, and few messages for many small partitions.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { DirectoryChange } from '../../../src/domain/directory.js';
import {
  MAX_BUCKETS_PER_CHUNK,
  MAX_CHANGES_PER_CHUNK,
  packPartitions,
} from '../../../src/usecases/change-publisher.js';
import { directoryChunkSchema } from '../../../src/usecases/messages.js';

function renames(partition: string, count: number): DirectoryChange[] {
  return Array.from({ length: count }, (_, i) => ({
    kind: 'user',
    id: `${partition}-${i}`,
    version: String(i).padStart(8, '0'),
    removed: 'soft',
  }));
}

/** A flush as the publisher drains it: partitions sorted, groups among them. */
const flushes = fc
  .uniqueArray(
    fc.oneof(
      fc.constant('groups'),
      fc.nat({ max: 63 }).map((b) => `users:${b}`),
    ),
    {
      maxLength: 64,
    },
  )
  .chain((partitions) =>
    fc.tuple(
      ...partitions
        .sort()
        .map((p) =>
          fc
            .oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 1_300 }))
            .map((n) => [p, n] as const),
        ),
    ),
  );

describe('packPartitions', () => {
  it('puts every change in exactly one message, in its partition order, within the bounds', () => {
    fc.assert(
      fc.property(flushes, (sizes) => {
        const input = sizes.map(([p, n]) => [p, renames(p, n)] as const);
        const messages = packPartitions(input);
        for (const message of messages) {
          expect(message.changes.length).toBeLessThanOrEqual(MAX_CHANGES_PER_CHUNK);
          expect(message.changes.length).toBeGreaterThan(0);
          const buckets = message.partition.startsWith('users:')
            ? message.partition.slice('users:'.length).split('+')
            : [];
          expect(buckets.length).toBeLessThanOrEqual(MAX_BUCKETS_PER_CHUNK);
          // The name a reconciler accepts, and every change is of one of its buckets.
          expect(directoryChunkSchema.shape.partition.safeParse(message.partition).success).toBe(true);
          for (const change of message.changes) {
            const partition = (change as { id: string }).id.split('-')[0]!;
            if (message.partition === 'groups') expect(partition).toBe('groups');
            else expect(buckets).toContain(partition.slice('users:'.length));
          }
        }
        // Concatenated by partition, the messages give back the input exactly.
        const seen = new Map<string, DirectoryChange[]>();
        for (const message of messages)
          for (const change of message.changes) {
            const partition = (change as { id: string }).id.split('-')[0]!;
            seen.set(partition, [...(seen.get(partition) ?? []), change]);
          }
        expect(Object.fromEntries(seen)).toEqual(Object.fromEntries(input.map(([p, c]) => [p, c])));
      }),
    );
  });

  it('sends a round of 100 changes over 50 buckets as 4 messages, not 50', () => {
    const input = Array.from({ length: 50 }, (_, b) => [`users:${b}`, renames(`users:${b}`, 2)] as const);
    const messages = packPartitions(input.sort(([a], [b]) => a.localeCompare(b)));
    expect(messages).toHaveLength(Math.ceil(50 / MAX_BUCKETS_PER_CHUNK));
  });

  it('keeps the groups partition and a partition bigger than a message apart', () => {
    const messages = packPartitions([
      ['groups', renames('groups', 3)],
      ['users:1', renames('users:1', 2)],
      ['users:2', renames('users:2', MAX_CHANGES_PER_CHUNK + 1)],
      ['users:3', renames('users:3', 2)],
    ]);
    expect(messages.map((m) => [m.partition, m.changes.length])).toEqual([
      ['groups', 3],
      ['users:2', MAX_CHANGES_PER_CHUNK],
      ['users:2', 1],
      ['users:1+3', 4],
    ]);
  });
});
