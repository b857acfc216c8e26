import type { NotificationRequestMarks } from '../adapters/storage/notification-requests.js';
import type { SubscriptionStore } from '../adapters/storage/subscription-store.js';
import type { ConnectionSettings } from '../domain/connection-settings.js';
import type { ClientStateVault, GraphSubscriptions } from '../ports/graph-subscriptions.js';
import type { PipelineDeps } from './pipeline-deps.js';

/** What the notification use cases need (built by src/notification-services.ts). */
export interface NotificationDeps {
  readonly pipeline: PipelineDeps;
  readonly subscriptions: SubscriptionStore;
  readonly marks: NotificationRequestMarks;
  readonly vault: ClientStateVault;
  graphFor(connection: ConnectionSettings): Promise<GraphSubscriptions>;
  readonly settings: {
    /** Undefined: no subscriptions are made (the webhook has no public URL). */
    readonly notificationUrl: string | undefined;
    readonly lifecycleNotificationUrl: string | undefined;
    readonly lifetimeMinutes: number;
    readonly debounceMs: number;
  };
  sleep(ms: number): Promise<void>;
}
