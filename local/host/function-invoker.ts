import { randomUUID } from 'node:crypto';

import { ensureError } from '../../src/shared/errors.js';
import type { FunctionRegistry, RegisteredFunction } from './core-api.js';
import type {
  CoreInvocationContext,
  RpcInvocationResponse,
  RpcParameterBinding,
  RpcTypedData,
} from './core-api-types.js';
import { functionCategory, type HostLogSink } from './log-sink.js';

/** What a trigger source hands the worker: RPC-shaped input data and trigger metadata. */
export interface InvocationInput {
  readonly inputData: readonly RpcParameterBinding[];
  readonly triggerMetadata: Readonly<Record<string, RpcTypedData>>;
  /** Why it runs, for the "Executing" log line (e.g. "New queue message detected on 'q'."). */
  readonly reason: string;
}

export interface InvocationOutcome {
  readonly invocationId: string;
  readonly response: RpcInvocationResponse;
}

/**
 * Runs invocations the way the Node.js worker does: the library's programming model builds the
 * arguments from RPC data, hooks run around the handler, and the response comes back RPC-shaped.
 * Tracks running invocations so the host can wait for them at shutdown.
 */
export class FunctionInvoker {
  readonly #registry: FunctionRegistry;
  readonly #log: HostLogSink;
  readonly #appHookData: Record<string, unknown>;
  readonly #running = new Set<Promise<unknown>>();

  constructor(registry: FunctionRegistry, log: HostLogSink, appHookData: Record<string, unknown>) {
    this.#registry = registry;
    this.#log = log;
    this.#appHookData = appHookData;
  }

  /**
   * Invokes a function; `completeOutputs` then flushes its output bindings (part of the invocation, as in
   * the host). Resolves with the RPC response; rejects with the handler's, a hook's or an output's error.
   */
  invoke(
    fn: RegisteredFunction,
    input: InvocationInput,
    completeOutputs: (response: RpcInvocationResponse) => Promise<void>,
  ): Promise<InvocationOutcome> {
    const invocation = this.#invoke(fn, input, completeOutputs);
    const tracked = invocation.catch(() => undefined);
    this.#running.add(tracked);
    void tracked.finally(() => this.#running.delete(tracked));
    return invocation;
  }

  /** Resolves once every invocation started so far (and any they started meanwhile) has settled. */
  async drain(): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }

  async #invoke(
    fn: RegisteredFunction,
    input: InvocationInput,
    completeOutputs: (response: RpcInvocationResponse) => Promise<void>,
  ): Promise<InvocationOutcome> {
    const invocationId = randomUUID();
    const functionName = fn.metadata.name;
    const log = (level: string, category: string, message: string): void =>
      this.#log({
        level,
        category: functionCategory(functionName, category),
        functionName,
        invocationId,
        message,
      });
    const coreContext: CoreInvocationContext = {
      invocationId,
      request: {
        invocationId,
        functionId: functionName,
        inputData: [...input.inputData],
        triggerMetadata: { ...input.triggerMetadata },
      },
      metadata: fn.metadata,
      log,
    };
    log(
      'information',
      'system',
      `Executing 'Functions.${functionName}' (Reason='${input.reason}', Id=${invocationId})`,
    );
    const started = Date.now();
    try {
      const response = await this.#run(fn, coreContext);
      await completeOutputs(response);
      log(
        'information',
        'system',
        `Executed 'Functions.${functionName}' (Succeeded, Id=${invocationId}, Duration=${Date.now() - started}ms)`,
      );
      return { invocationId, response };
    } catch (thrown) {
      const error = ensureError(thrown);
      log(
        'error',
        'system',
        `Executed 'Functions.${functionName}' (Failed, Id=${invocationId}, Duration=${Date.now() - started}ms): ${error.message}`,
      );
      throw error;
    }
  }

  async #run(fn: RegisteredFunction, coreContext: CoreInvocationContext): Promise<RpcInvocationResponse> {
    const model = this.#registry.programmingModel().getInvocationModel(coreContext);
    const { context, inputs } = await model.getArguments();
    const hookData: Record<string, unknown> = {};

    coreContext.state = 'preInvocationHooks';
    const pre = {
      hookData,
      appHookData: this.#appHookData,
      invocationContext: context,
      inputs,
      functionCallback: fn.callback,
    };
    for (const hook of this.#registry.hooks('preInvocation')) await hook(pre);

    coreContext.state = 'invocation';
    let result: unknown;
    let error: unknown;
    try {
      result = await model.invokeFunction(context, pre.inputs, pre.functionCallback);
    } catch (thrown) {
      error = thrown;
    }

    coreContext.state = 'postInvocationHooks';
    const post = {
      hookData,
      appHookData: this.#appHookData,
      invocationContext: context,
      inputs: pre.inputs,
      result,
      error,
    };
    for (const hook of this.#registry.hooks('postInvocation')) await hook(post);
    coreContext.state = undefined;
    if (post.error !== undefined && post.error !== null) throw ensureError(post.error);
    return model.getResponse(context, post.result);
  }
}
