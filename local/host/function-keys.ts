import { randomBytes, timingSafeEqual } from 'node:crypto';

export interface FunctionKeys {
  readonly functionKey: string;
  readonly masterKey: string;
}

export type AuthLevel = 'anonymous' | 'function' | 'admin';

/** Keys from `FUNCTIONS_DEFAULT_KEY` / `FUNCTIONS_MASTER_KEY`, or fresh random keys when a setting is absent. */
export function resolveFunctionKeys(env: NodeJS.ProcessEnv = process.env): FunctionKeys {
  const generate = (): string => randomBytes(32).toString('base64url');
  return {
    functionKey: env.FUNCTIONS_DEFAULT_KEY || generate(),
    masterKey: env.FUNCTIONS_MASTER_KEY || generate(),
  };
}

/** Reads an HTTP trigger's `authLevel` (the host's default is `function`). */
export function parseAuthLevel(value: unknown, functionName: string): AuthLevel {
  const level = typeof value === 'string' ? value.toLowerCase() : 'function';
  if (level === 'anonymous' || level === 'function' || level === 'admin') return level;
  throw new Error(
    `Function "${functionName}": authLevel "${String(value)}" is not supported by the local host.`,
  );
}

function sameKey(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Whether a presented key (header `x-functions-key` or query `code`) opens a function of this level. */
export function isAuthorized(
  level: AuthLevel,
  presentedKey: string | undefined,
  keys: FunctionKeys,
): boolean {
  if (level === 'anonymous') return true;
  if (presentedKey === undefined || presentedKey === '') return false;
  if (sameKey(presentedKey, keys.masterKey)) return true;
  return level === 'function' && sameKey(presentedKey, keys.functionKey);
}
