/**
 * The Node worker's arguments: the app setting the Functions host passes to the worker process it starts
 * (`languageWorkers__node__arguments`); the local host starts its own process with them too.
 *
 * V8's old-space budget. Without one, V8 sizes the heap from the machine's memory and lets garbage pile
 * up between collections: at 100,000 users the host's RSS peaked at 512-533 MB while the live heap at that
 * moment was under 100 MB. With 384 MB it peaks near 270 MB, as fast. It fits the smallest Flex
 * Consumption instance (512 MB) beside the Functions host; raise it with the instance memory for a tenant
 * far larger than 100,000 users (infra/app/function-app.bicep sets the same value).
 */
export const NODE_WORKER_ARGUMENTS_SETTING = 'languageWorkers__node__arguments';
export const NODE_WORKER_ARGUMENTS = '--max-old-space-size=384';

/** The arguments an app setting's value stands for (separated by spaces). */
export function nodeWorkerArguments(value: string | undefined): string[] {
  return (value ?? '').split(/\s+/).filter((arg) => arg !== '');
}
