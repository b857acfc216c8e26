/** A change in the tenant, as the core's change listener reports it. */
export interface TenantChange {
  readonly resource: 'users' | 'groups';
  readonly id: string;
  readonly changeType: 'created' | 'updated' | 'deleted';
  /**
   * For `deleted`: false when the object was soft-deleted (restorable), which Graph notifies as `updated`.
   * Absent or true means a permanent deletion, notified as `deleted`.
   */
  readonly permanent?: boolean;
}

export type LifecycleEvent = 'reauthorizationRequired' | 'subscriptionRemoved' | 'missed';

/** Timings of the plug-in; every field has a Graph-like default. */
export interface SubscriptionTimings {
  /** How long the validation endpoint has to echo the token (Graph: 10 s). */
  readonly validationTimeoutMs: number;
  /** How long a notification endpoint has to answer 2xx (Graph: 3 s). */
  readonly deliveryTimeoutMs: number;
  /** Changes arriving within this window are sent together in one POST per endpoint. */
  readonly coalesceMs: number;
  /** At most this many notifications in one POST. */
  readonly maxNotificationsPerPost: number;
  /** Attempts per POST (first try included) before the notifications are dropped. */
  readonly maxAttempts: number;
  /** First retry delay; each next retry waits twice as long. */
  readonly retryBaseDelayMs: number;
  /**
   * `reauthorizationRequired` is sent this long before a subscription expires (default 60 min); at
   * expiry the subscription is dropped silently (no `subscriptionRemoved` for users and groups).
   */
  readonly reauthorizationLeadMs: number;
  /** How often expirations are checked against the clock (lifecycle events are sent from this sweep). */
  readonly lifecycleSweepMs: number;
}

export interface SubscriptionDeps {
  /** The tenant the stand-in serves (`tenantId` of notifications, `organizationId` of resourceData). */
  readonly tenantId: string;
  /** The registered app's client id (a subscription's `applicationId`). */
  readonly clientId: string;
  /** The app's service principal object id (a subscription's `creatorId`); a fixed UUID when absent. */
  readonly creatorId?: string;
  /**
   * The core's tenant change listener. It may return an unsubscribe function, which `stop()` calls.
   */
  readonly onChange: (listener: (change: TenantChange) => void) => unknown;
  /** Share (0..1) of change notifications to drop, read at each delivery (the fault plan's knob). */
  readonly droppedNotificationRate?: () => number;
  /** Random source in [0, 1) for the drop decision (seeded by the core for determinism). */
  readonly random?: () => number;
  /** Clock in ms since the epoch (defaults to Date.now). */
  readonly now?: () => number;
  readonly timings?: Partial<SubscriptionTimings>;
}

/** A subscription as the Graph API returns it. */
export interface SubscriptionView {
  readonly id: string;
  readonly resource: string;
  readonly applicationId: string;
  readonly changeType: string;
  readonly clientState: string | null;
  readonly notificationUrl: string;
  readonly lifecycleNotificationUrl: string | null;
  readonly expirationDateTime: string;
  readonly creatorId: string;
  readonly latestSupportedTlsVersion: string;
  readonly encryptionCertificate: string | null;
  readonly encryptionCertificateId: string | null;
  readonly includeResourceData: boolean;
  readonly notificationContentType: string;
}

export type DeliveryKind = 'validation' | 'change' | 'lifecycle';

/** One POST the stand-in made (or gave up on) towards an app endpoint. */
export interface Delivery {
  readonly kind: DeliveryKind;
  readonly url: string;
  /** Subscriptions whose notifications the POST carried. */
  readonly subscriptionIds: readonly string[];
  /** Number of notifications in the POST (1 for validation). */
  readonly count: number;
  /** Last HTTP status received; undefined when the endpoint never answered (timeout, refused). */
  readonly status: number | undefined;
  readonly attempts: number;
  /** `delivered` (2xx / validated), `failed` (gave up after retries), `dropped` (fault plan). */
  readonly outcome: 'delivered' | 'failed' | 'dropped';
}

export interface SubscriptionService {
  /** Live subscriptions. */
  list(): readonly SubscriptionView[];
  /**
   * Sends a lifecycle event now; resolves when the delivery is done (delivered or given up). Users and
   * groups subscriptions get only `reauthorizationRequired`: the other events are refused, as Graph
   * sends them for Outlook and Teams resources only.
   */
  triggerLifecycle(id: string, event: LifecycleEvent): Promise<void>;
  /**
   * Forgets a subscription without a word, as Graph does when it loses one (the app's next renewal
   * gets 404); false when there was none.
   */
  forget(id: string): boolean;
  /** Feeds a tenant change as the core's listener would (used when no tenant is wired). */
  notify(change: TenantChange): void;
  /** Log of POSTs made to app endpoints, oldest first. */
  deliveries(): readonly Delivery[];
  /** Resolves when no notification is waiting, in flight or scheduled for retry. */
  idle(): Promise<void>;
  /** Cancels timers and pending deliveries, and stops listening to the tenant. */
  stop(): void;
}
