import type { SubscriptionView } from './subscription.types.js';

/** A live subscription as the stand-in keeps it. */
export interface SubscriptionRecord {
  readonly id: string;
  readonly resource: 'users' | 'groups';
  /** The resource string as the caller wrote it (Graph echoes it). */
  readonly resourceAsGiven: string;
  readonly applicationId: string;
  readonly creatorId: string;
  readonly changeTypes: ReadonlySet<string>;
  readonly changeTypeAsGiven: string;
  readonly clientState: string | null;
  notificationUrl: string;
  lifecycleNotificationUrl: string | null;
  expiresAt: number;
  readonly latestSupportedTlsVersion: string;
  /** Whether `reauthorizationRequired` was already sent for the current expiration. */
  reauthorizationSent: boolean;
}

/** Graph's subscription timestamp: 7 fractional digits and `Z` (`2016-11-20T18:23:45.9356913Z`). */
export function subscriptionDateTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '0000Z');
}

export function toSubscriptionView(record: SubscriptionRecord): SubscriptionView {
  return {
    id: record.id,
    resource: record.resourceAsGiven,
    applicationId: record.applicationId,
    changeType: record.changeTypeAsGiven,
    clientState: record.clientState,
    notificationUrl: record.notificationUrl,
    lifecycleNotificationUrl: record.lifecycleNotificationUrl,
    expirationDateTime: subscriptionDateTime(record.expiresAt),
    creatorId: record.creatorId,
    latestSupportedTlsVersion: record.latestSupportedTlsVersion,
    encryptionCertificate: null,
    encryptionCertificateId: null,
    includeResourceData: false,
    notificationContentType: 'application/json',
  };
}
