import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  decideStatusTransition,
  isOutOfDirectory,
  PERSON_STATUSES,
} from '../../../src/domain/person-status.js';
import { statusArb } from './arbitraries.js';

const IN_DIRECTORY = PERSON_STATUSES.filter((status) => !isOutOfDirectory(status));

describe('decideStatusTransition', () => {
  it('removes a leaver that is still created or invited', () => {
    expect(decideStatusTransition('created', null, false)).toEqual({
      kind: 'leave',
      status: 'removed',
      previousStatus: 'created',
    });
    expect(decideStatusTransition('invited', null, false)).toEqual({
      kind: 'leave',
      status: 'removed',
      previousStatus: 'invited',
    });
  });

  it('deactivates a leaver that is active', () => {
    expect(decideStatusTransition('active', null, false)).toEqual({
      kind: 'leave',
      status: 'deactivated',
      previousStatus: 'active',
    });
  });

  it('gives a returner the status it had before it left', () => {
    expect(decideStatusTransition('deactivated', 'active', true)).toEqual({
      kind: 'return',
      status: 'active',
    });
    expect(decideStatusTransition('removed', 'invited', true)).toEqual({ kind: 'return', status: 'invited' });
  });

  it('returns a person as created when its previous status is unknown or itself out of the directory', () => {
    expect(decideStatusTransition('removed', null, true)).toEqual({ kind: 'return', status: 'created' });
    expect(decideStatusTransition('deactivated', 'removed', true)).toEqual({
      kind: 'return',
      status: 'created',
    });
  });

  it('does nothing to a person already where its scope puts it', () => {
    fc.assert(
      fc.property(statusArb, fc.option(statusArb, { nil: null }), (status, previous) => {
        const inScope = !isOutOfDirectory(status);
        expect(decideStatusTransition(status, previous, inScope)).toEqual({ kind: 'none' });
      }),
    );
  });

  it('leave then return is the identity on every status in the directory', () => {
    fc.assert(
      fc.property(fc.constantFrom(...IN_DIRECTORY), fc.option(statusArb, { nil: null }), (status, stale) => {
        const leave = decideStatusTransition(status, stale, false);
        expect(leave.kind).toBe('leave');
        if (leave.kind !== 'leave') return;
        expect(isOutOfDirectory(leave.status)).toBe(true);
        const back = decideStatusTransition(leave.status, leave.previousStatus, true);
        expect(back).toEqual({ kind: 'return', status });
      }),
    );
  });

  it('a leaver always ends out of the directory and a returner always inside it', () => {
    fc.assert(
      fc.property(
        statusArb,
        fc.option(statusArb, { nil: null }),
        fc.boolean(),
        (status, previous, inScope) => {
          const transition = decideStatusTransition(status, previous, inScope);
          if (transition.kind === 'none') return;
          const expectedOut: boolean = transition.kind === 'leave';
          expect(isOutOfDirectory(transition.status)).toBe(expectedOut);
          expect(inScope).toBe(transition.kind === 'return');
        },
      ),
    );
  });
});
