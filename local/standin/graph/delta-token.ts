/**
 * Opaque delta state: the first request's options (select, id filter) and the round's position, carried
 * in `$skiptoken` (inside a round) and `$deltatoken` (between rounds). A token is base64url JSON.
 */
import { z } from 'zod';

import { TenantError } from '../tenant/tenant-store.js';

const stateSchema = z.object({
  v: z.literal(1),
  r: z.enum(['users', 'groups']),
  /** `$select` of the first request (null: default properties). */
  sel: z.array(z.string()).nullable(),
  /** `$filter=id eq …` ids (null: everything). */
  ids: z.array(z.string()).nullable(),
  /** Initial round (snapshot) or a change round. */
  init: z.boolean(),
  /** Changes after this sequence are in the round (change rounds). */
  from: z.number().int(),
  /** Sequence at the round's start: the next deltaLink's `from`. */
  to: z.number().int(),
  /** Object count at the start of an initial round. */
  n: z.number().int(),
  /** Position in the round (object index) and, for groups, in that object's members. */
  pos: z.number().int(),
  mpos: z.number().int(),
  /** Pages served so far in the round. */
  pg: z.number().int(),
  /** Ids to send again on this page (replayed duplicates). */
  dup: z.array(z.string()),
  /** When the token was minted (ms since epoch). */
  t: z.number(),
});

export type DeltaState = z.infer<typeof stateSchema>;

export function encodeDeltaState(state: DeltaState): string {
  return Buffer.from(JSON.stringify(state)).toString('base64url');
}

export function decodeDeltaState(raw: string, resource: 'users' | 'groups'): DeltaState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const state = stateSchema.safeParse(parsed);
  if (!state.success || state.data.r !== resource) {
    throw new TenantError(
      400,
      'Request_BadRequest',
      'The specified delta token value is invalid or has expired.',
    );
  }
  return state.data;
}
