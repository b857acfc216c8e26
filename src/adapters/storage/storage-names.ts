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
} as const;
export type TableName = (typeof TABLES)[keyof typeof TABLES];

/** The tables that hold the directory itself (mirror and projection), as opposed to bookkeeping. */
export const DIRECTORY_TABLES: ReadonlySet<TableName> = new Set([
  TABLES.dirUsers,
  TABLES.dirGroups,
  TABLES.people,
  TABLES.peopleByEmail,
  TABLES.teams,
]);

export const QUEUES = {
  syncRequests: 'sync-requests',
  directoryChanges: 'directory-changes',
  runEvents: 'run-events',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export function poisonQueueOf(queue: QueueName): `${QueueName}-poison` {
  return `${queue}-poison`;
}

export const CONTAINERS = {
  changeChunks: 'change-chunks',
} as const;
