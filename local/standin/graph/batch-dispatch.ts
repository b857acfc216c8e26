/** Lets the `$batch` route reach the dispatcher, which is created after the routes are registered. */
import type { DispatchInput, DispatchResult } from '../http/dispatcher.js';
import type { BatchRouteDeps } from './batch-route.js';

export function batchRouteDeps(): BatchRouteDeps & {
  bind(dispatch: (input: DispatchInput) => Promise<DispatchResult>): void;
} {
  let target: ((input: DispatchInput) => Promise<DispatchResult>) | undefined;
  return {
    dispatch: (input) => {
      if (!target) return Promise.reject(new Error('The $batch route is not bound to the dispatcher yet.'));
      return target(input);
    },
    bind: (dispatch) => {
      target = dispatch;
    },
  };
}
