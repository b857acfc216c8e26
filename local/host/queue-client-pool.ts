import { type QueueClient, QueueServiceClient } from '@azure/storage-queue';

/** A queue on one storage account. */
export interface QueueAddress {
  readonly connectionString: string;
  readonly queueName: string;
}

function keyOf(address: QueueAddress): string {
  return `${address.connectionString}\n${address.queueName}`;
}

/**
 * One `@azure/storage-queue` client per account and queue, queue creation done once, and the shared
 * "a message was just sent" signal (the host's shared queue watcher) that wakes a queue's listener.
 */
export class QueueClientPool {
  readonly #services = new Map<string, QueueServiceClient>();
  readonly #created = new Map<string, Promise<QueueClient>>();
  readonly #watchers = new Map<string, Set<() => void>>();

  client(address: QueueAddress): QueueClient {
    let service = this.#services.get(address.connectionString);
    if (!service) {
      service = QueueServiceClient.fromConnectionString(address.connectionString);
      this.#services.set(address.connectionString, service);
    }
    return service.getQueueClient(address.queueName);
  }

  /** The queue's client, after creating the queue if it does not exist (once per pool). */
  existing(address: QueueAddress): Promise<QueueClient> {
    const key = keyOf(address);
    let created = this.#created.get(key);
    if (!created) {
      const client = this.client(address);
      created = client.createIfNotExists().then(() => client);
      created.catch(() => this.#created.delete(key));
      this.#created.set(key, created);
    }
    return created;
  }

  /** Registers a callback run whenever this host sends a message to the queue; returns the unregister. */
  watch(address: QueueAddress, onMessageSent: () => void): () => void {
    const key = keyOf(address);
    const set = this.#watchers.get(key) ?? new Set<() => void>();
    set.add(onMessageSent);
    this.#watchers.set(key, set);
    return () => set.delete(onMessageSent);
  }

  /** Tells the queue's watchers that a message was sent to it. */
  notifySent(address: QueueAddress): void {
    for (const onMessageSent of this.#watchers.get(keyOf(address)) ?? []) onMessageSent();
  }
}
