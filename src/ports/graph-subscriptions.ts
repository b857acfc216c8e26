import type { SubscribedResource } from '../domain/subscription-rules.js';

/** What Graph answered about one subscription. */
export interface GraphSubscription {
  readonly id: string;
  readonly resource: string;
  readonly notificationUrl: string;
  readonly expiresAt: Date;
}

export interface NewSubscription {
  readonly resource: SubscribedResource;
  readonly notificationUrl: string;
  readonly lifecycleNotificationUrl: string;
  readonly expiresAt: Date;
  /** Never logged; kept in Key Vault only. */
  readonly clientState: string;
}

/** Graph no longer knows the subscription (404): it must be created again. */
export class SubscriptionGoneError extends Error {
  constructor(readonly subscriptionId: string) {
    super(`Graph no longer knows subscription ${subscriptionId}`);
    this.name = 'SubscriptionGoneError';
  }
}

/** A tenant's `/subscriptions` in Microsoft Graph, with the connection's credential. */
export interface GraphSubscriptions {
  /** Graph validates the notification URL (the handshake) before it answers. */
  create(subscription: NewSubscription): Promise<GraphSubscription>;
  /** Throws SubscriptionGoneError on 404. */
  renew(subscriptionId: string, expiresAt: Date): Promise<GraphSubscription>;
  /** Deletes; a subscription Graph no longer knows counts as deleted. */
  remove(subscriptionId: string): Promise<void>;
  /** This app's subscriptions in the tenant. */
  list(): Promise<GraphSubscription[]>;
}

/** Where each subscription's clientState lives (Key Vault): written once, read to check, removed with it. */
export interface ClientStateVault {
  put(name: string, value: string): Promise<void>;
  get(name: string): Promise<string>;
  remove(name: string): Promise<void>;
}
