/**
 * Decides a person's status when its Entra user enters or leaves scope: a leaver is removed while
 * `created` or `invited` and deactivated when `active`; a returner gets back the status it had.
 */
export const PERSON_STATUSES = ['created', 'invited', 'active', 'deactivated', 'removed'] as const;
export type PersonStatus = (typeof PERSON_STATUSES)[number];

export type StatusTransition =
  | { readonly kind: 'none' }
  | {
      readonly kind: 'leave';
      readonly status: 'removed' | 'deactivated';
      readonly previousStatus: PersonStatus;
    }
  | { readonly kind: 'return'; readonly status: PersonStatus };

export function isOutOfDirectory(status: PersonStatus): boolean {
  return status === 'removed' || status === 'deactivated';
}

export function decideStatusTransition(
  current: PersonStatus,
  previousStatus: PersonStatus | null,
  inScope: boolean,
): StatusTransition {
  if (inScope) {
    if (!isOutOfDirectory(current)) return { kind: 'none' };
    const restored = previousStatus && !isOutOfDirectory(previousStatus) ? previousStatus : 'created';
    return { kind: 'return', status: restored };
  }
  if (isOutOfDirectory(current)) return { kind: 'none' };
  if (current === 'created' || current === 'invited') {
    return { kind: 'leave', status: 'removed', previousStatus: current };
  }
  return { kind: 'leave', status: 'deactivated', previousStatus: current };
}
