/**
 * The Node worker's arguments: the app setting the Functions host passes to the worker process it starts
 * (`languageWorkers__node__arguments`); the local host starts its own process with them too.
 *
 * V8's old-space budget. Without one, V8 sizes the heap from the machine's memory and lets garbage pile
 * up between collections: at 100,000 users the host's RSS peaked at 512-533 MB while the live heap at that
 * moment was under 100 MB. With 384 MB it peaks near 270 MB, as fast. It fits the smallest Flex
 * Consumption instance (512 MB) beside the Functions host; raise it with the instance memory for a tenant
 * far larger than 100,000 users (infra/app/function-app.bicep sets the same value).
 *
 * V8's young generation: a sync allocates mostly short-lived objects (Graph pages, rows, SDK requests),
 * and with V8's default semi-space (16 MB) it promotes many of them before they die. With 32 MB, in one
 * session at 20,000 users, the worker's CPU for a first sync went from 24.7 to 20.2 CPU-seconds and the
 * sync from 26.6 to 22.6 s (peak RSS 233 to 272 MB); 64 MB bought nothing more and cost 335 MB.
 */
export const NODE_WORKER_ARGUMENTS_SETTING = 'languageWorkers__node__arguments';
export const NODE_WORKER_ARGUMENTS = '--max-old-space-size=384 --max-semi-space-size=32';

/** The arguments an app setting's value stands for (separated by spaces). */
export function nodeWorkerArguments(value: string | undefined): string[] {
  return (value ?? '').split(/\s+/).filter((arg) => arg !== '');
}
