import type { RegisteredFunctionInfo } from './app-loader.js';
import type { RpcInvocationResponse, RpcTypedData } from './core-api-types.js';
import type { QueueAddress, QueueClientPool } from './queue-client-pool.js';
import { encodeQueueMessage, outputMessages, type QueueMessageEncoding } from './queue-message-encoding.js';
import { resolveQueueName, resolveStorageConnectionString } from './storage-connection.js';

/** The return binding's name in `@azure/functions` registrations. */
export const RETURN_BINDING = '$return';

export interface QueueOutputBinding {
  readonly bindingName: string;
  readonly address: QueueAddress;
}

/** A function's output bindings, resolved once at start. */
export interface OutputBindingPlan {
  readonly queues: readonly QueueOutputBinding[];
  /** The name of the `http` output binding (usually `$return`), for HTTP-triggered functions. */
  readonly httpBindingName: string | undefined;
}

/**
 * Resolves the output bindings of a function (`queue` and `http`) and refuses the bindings the local host
 * cannot honour (other output types, extra inputs), so nothing is silently dropped.
 */
export function planOutputBindings(info: RegisteredFunctionInfo): OutputBindingPlan {
  const queues: QueueOutputBinding[] = [];
  let httpBindingName: string | undefined;
  for (const [bindingName, binding] of Object.entries(info.bindings)) {
    if (bindingName === info.triggerName) continue;
    const type = (binding.type ?? '').toLowerCase();
    const where = `Function "${info.name}" binding "${bindingName}"`;
    if (binding.direction !== 'out') {
      throw new Error(
        `${where}: input bindings of type "${binding.type ?? ''}" are not supported by the local host.`,
      );
    }
    if (type === 'http') {
      httpBindingName = bindingName;
    } else if (type === 'queue') {
      queues.push({
        bindingName,
        address: {
          connectionString: resolveStorageConnectionString(binding.connection, where),
          queueName: resolveQueueName(binding.queueName, where),
        },
      });
    } else {
      throw new Error(
        `${where}: output bindings of type "${binding.type ?? ''}" are not supported by the local host.`,
      );
    }
  }
  return { queues, httpBindingName };
}

/** The value an invocation produced for one output binding. */
export function outputValue(response: RpcInvocationResponse, bindingName: string): RpcTypedData | undefined {
  if (bindingName === RETURN_BINDING) return response.returnValue ?? undefined;
  return response.outputData?.find((output) => output.name === bindingName)?.data ?? undefined;
}

/**
 * Sends the queue output bindings' values after a successful invocation (one message per array element,
 * with the host's messageEncoding) and wakes each target queue's listener.
 */
export class QueueOutputSender {
  readonly #pool: QueueClientPool;
  readonly #encoding: QueueMessageEncoding;

  constructor(pool: QueueClientPool, encoding: QueueMessageEncoding) {
    this.#pool = pool;
    this.#encoding = encoding;
  }

  async send(outputs: readonly QueueOutputBinding[], response: RpcInvocationResponse): Promise<void> {
    for (const output of outputs) {
      const data = outputValue(response, output.bindingName);
      if (!data) continue;
      const messages = outputMessages(data);
      if (messages.length === 0) continue;
      const queue = await this.#pool.existing(output.address);
      for (const message of messages) await queue.sendMessage(encodeQueueMessage(message, this.#encoding));
      this.#pool.notifySent(output.address);
    }
  }
}
