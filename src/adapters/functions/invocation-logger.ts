import type { InvocationContext } from '@azure/functions';

import type { Logger } from '../../ports/logger.js';

/** Structured logs through the invocation's context (Application Insights in Azure). */
export function loggerFor(context: InvocationContext): Logger {
  const line = (message: string, properties?: Record<string, unknown>): string =>
    properties ? `${message} ${JSON.stringify(properties)}` : message;
  return {
    info: (message, properties) => context.info(line(message, properties)),
    warn: (message, properties) => context.warn(line(message, properties)),
    error: (message, properties) => context.error(line(message, properties)),
  };
}
