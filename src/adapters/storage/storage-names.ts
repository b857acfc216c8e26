/** Every table, queue and container the pipeline uses (infra/ declares the same list). */
export const TABLES = {
  connections: 'connections',
  syncState: 'syncState',
  dirUsers: 'dirUsers',
  dirGroups: 'dirGroups',
  people: 'people',
  peopleByEmail: 'peopleByEmail',
  teams: 'teams',
  runs: 'runs',
  runErrors: 'runErrors',
  runChunks: 'runChunks',
  /** Per-tenant error log for what belongs to no run (poison without a run, requests for unknown tenants). */
  tenantErrors: 'tenantErrors',
  pendingChanges: 'pendingChanges',
  subscriptions: 'subscriptions',
  /** Every saved version of a connection's settings (PartitionKey tenantId, RowKey the version). */
  settingsHistory: 'settingsHistory',
  /** Two Entra users claiming one person, or one user two people: resolved by an admin. */
  disputes: 'disputes',
  /** The app's custom property definitions (name, type), per tenant. */
  customProperties: 'customProperties',
  /** A person's photo as last downloaded (media ETag, blob name), beside its people row. */
  personPhotos: 'personPhotos',
  /** Older entries of a person's history (the latest are kept on its people row). */
  personHistory: 'personHistory',
  /** Used nonces of consent states (single use; only the nonce and its expiry). */
  consentStates: 'consentStates',
  /** The app's ordered event feed (PartitionKey tenantId, RowKey `<time>_<subject>_<seq>`). */
  events: 'events',
  /** The app webhook's delivery state and dead letters, per tenant. */
  eventDeliveries: 'eventDeliveries',
} as const;
export type TableName = (typeof TABLES)[keyof typeof TABLES];

/**
 * The tables that hold the directory itself (mirror and projection) and the app's feed of its changes
 * (one event per applied change, written with it), as opposed to bookkeeping (runs, locks, reports).
 * A run's `directoryWrites` counts these; the bench's storage baseline writes the same entities.
 */
export const DIRECTORY_TABLES: ReadonlySet<TableName> = new Set([
  TABLES.dirUsers,
  TABLES.dirGroups,
  TABLES.people,
  TABLES.peopleByEmail,
  TABLES.teams,
  TABLES.events,
]);

export const QUEUES = {
  syncRequests: 'sync-requests',
  directoryChanges: 'directory-changes',
  runEvents: 'run-events',
  /** A photo pass of one tenant (after a full run, or on the policy's photo schedule). */
  photoRequests: 'photo-requests',
  /** A custom-security-attribute pass of one tenant (delta does not track them). */
  securityAttributeRequests: 'security-attribute-requests',
  /** A run's notification (mail, signed webhook) once it ended, off the pipeline's path. */
  runNotifications: 'run-notifications',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export function poisonQueueOf(queue: QueueName): `${QueueName}-poison` {
  return `${queue}-poison`;
}

export const CONTAINERS = {
  changeChunks: 'change-chunks',
  /** Each run's change set (one blob per chunk: what the planner decided, by person, with the rule). */
  changeSets: 'change-sets',
  /** People's photos. */
  photos: 'photos',
} as const;
export type ContainerName = (typeof CONTAINERS)[keyof typeof CONTAINERS];
