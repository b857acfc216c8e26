/** Normalises anything thrown into an Error (as `@azure/functions` does with `ensureError`). */
export function ensureError(value: unknown): Error {
  if (value instanceof Error) return value;
  if (typeof value === 'string') return new Error(value);
  try {
    return new Error(JSON.stringify(value));
  } catch {
    return new Error(String(value));
  }
}

/** The categories a run's error log uses. */
export const ERROR_CATEGORIES = [
  'user-not-found',
  'permission-denied',
  'rate-limited',
  'invalid-data',
  'storage-limit',
  'transient',
  /** skip-conflicts: the app and Entra both changed a field (both values in the message). */
  'merge-conflict',
  'manager-missing',
  'manager-out-of-scope',
  'manager-cycle',
  /** The app's own settings stop a round (SYNC_BUCKETS changed since the tenant's first round). */
  'configuration',
] as const;
export type ErrorCategory = (typeof ERROR_CATEGORIES)[number];

/**
 * The one error hierarchy: a transient error is thrown so the queue retries the message; a permanent
 * one is recorded in the run's error log and the rest goes on.
 */
export class SyncError extends Error {
  constructor(
    message: string,
    readonly category: ErrorCategory,
    readonly transient: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class TransientError extends SyncError {
  constructor(message: string, category: ErrorCategory = 'transient', options?: { cause?: unknown }) {
    super(message, category, true, options);
  }
}

export class PermanentError extends SyncError {
  constructor(message: string, category: ErrorCategory, options?: { cause?: unknown }) {
    super(message, category, false, options);
  }
}

/** Graph's delta token is no longer usable (410 Gone, syncStateNotFound, resyncRequired): resync. */
export class DeltaTokenExpiredError extends Error {
  constructor(readonly reason: string) {
    super(`delta token expired: ${reason}`);
    this.name = 'DeltaTokenExpiredError';
  }
}
