import type { z } from 'zod';

/**
 * What an HTTP use case answers: a value, or a refusal the trigger maps to a status. A refusal of the
 * input names each problem by its field path (`policy.scope.groups.0`), as zod does.
 */
export interface ApiIssue {
  readonly path: string;
  readonly message: string;
  /** Where in a text value (a `$filter`) the problem starts, 0-based. */
  readonly position?: number;
}

export type ApiRefusal = {
  readonly ok: false;
  readonly status: 400 | 404 | 409 | 412;
  readonly error: string;
  readonly issues?: readonly ApiIssue[];
  /** More about the refusal (e.g. the mappings that still use a custom property). */
  readonly details?: Readonly<Record<string, unknown>>;
};

export type ApiResult<T> = { readonly ok: true; readonly value: T } | ApiRefusal;

export function ok<T>(value: T): ApiResult<T> {
  return { ok: true, value };
}

export function refuse(
  status: ApiRefusal['status'],
  error: string,
  more: { issues?: readonly ApiIssue[]; details?: Readonly<Record<string, unknown>> } = {},
): ApiRefusal {
  return { ok: false, status, error, ...more };
}

/** A field path as the API names it: `policy.scope.groups.0`. */
export function pathOf(path: readonly PropertyKey[]): string {
  return path.map((part) => String(part)).join('.');
}

/** zod's issues as the API's, each with its field path (under `prefix` when given). */
export function issuesOf(error: z.ZodError, prefix: readonly PropertyKey[] = []): ApiIssue[] {
  return error.issues.map((issue) => ({ path: pathOf([...prefix, ...issue.path]), message: issue.message }));
}
