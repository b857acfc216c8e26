import { addCounts, addWrites, type RunState } from '../adapters/storage/run-store.js';
import type { Row } from '../adapters/storage/table-gateway.js';
import type { RunEvent } from './messages.js';
import type { PipelineDeps } from './pipeline-deps.js';

export type FanIn = 'recorded' | 'duplicate' | 'completed' | 'not-running';

/**
 * Fan-in: counts a chunk (or the fetcher's end) into its run exactly once, with a bitmap of the
 * chunks already counted in the run row (ETag `If-Match`), and completes the run when the fetcher is
 * done and every chunk it published is counted.
 */
export async function recordRunEvent(deps: PipelineDeps, event: RunEvent): Promise<FanIn> {
  let result: FanIn = 'duplicate';
  await deps.runs.update(event, (current) => {
    if (current.state !== ('running' satisfies RunState)) {
      result = 'not-running';
      return undefined;
    }
    const row: Row = { ...current };
    let done = decodeBitmap(typeof row.doneBitmap === 'string' ? row.doneBitmap : '');
    if (event.type === 'chunk-done') {
      if (isSet(done, event.chunkIndex)) {
        result = 'duplicate';
        return undefined;
      }
      done = withBit(done, event.chunkIndex);
      row.doneBitmap = encodeBitmap(done);
      row.chunksDone = Number(row.chunksDone) + 1;
      addCounts(row, event.counts);
    } else {
      if (Number(row.chunksTotal) >= 0) {
        result = 'duplicate';
        return undefined;
      }
      row.chunksTotal = event.chunksTotal;
      row.graphRequests = event.graphRequests;
    }
    addWrites(row, event.writes);
    row.errors = Number(row.errors) + event.errors;
    const total = Number(row.chunksTotal);
    if (total >= 0 && allSet(done, total)) {
      row.state = (Number(row.errors) > 0 ? 'completed-with-errors' : 'completed') satisfies RunState;
      row.endedAt = deps.now().toISOString();
      result = 'completed';
    } else {
      result = 'recorded';
    }
    return row;
  });
  return result;
}

function decodeBitmap(encoded: string): Uint8Array {
  return encoded === '' ? new Uint8Array(0) : new Uint8Array(Buffer.from(encoded, 'base64'));
}

function encodeBitmap(bits: Uint8Array): string {
  return Buffer.from(bits).toString('base64');
}

function isSet(bits: Uint8Array, index: number): boolean {
  const byte = index >> 3;
  return byte < bits.length && (bits[byte]! & (1 << (index & 7))) !== 0;
}

function withBit(bits: Uint8Array, index: number): Uint8Array {
  const byte = index >> 3;
  const grown = byte < bits.length ? bits : new Uint8Array(byte + 1);
  if (grown !== bits) grown.set(bits);
  grown[byte] = grown[byte]! | (1 << (index & 7));
  return grown;
}

function allSet(bits: Uint8Array, total: number): boolean {
  for (let i = 0; i < total; i += 1) if (!isSet(bits, i)) return false;
  return true;
}
