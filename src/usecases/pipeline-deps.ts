import type { ChunkStore } from '../adapters/storage/chunk-store.js';
import type { ConnectionStore } from '../adapters/storage/connection-store.js';
import type { GroupGraphStore } from '../adapters/storage/group-graph-store.js';
import type { ManagerIndex } from '../adapters/storage/manager-index.js';
import type { PassStateStore } from '../adapters/storage/pass-state-store.js';
import type { PersonPhotoStore } from '../adapters/storage/person-photo-store.js';
import type { QueueGateway } from '../adapters/storage/queue-gateway.js';
import type { RunStore } from '../adapters/storage/run-store.js';
import type { SettledRounds } from '../adapters/storage/settled-rounds.js';
import type { SyncStateStore } from '../adapters/storage/sync-state-store.js';
import type { TableGateway } from '../adapters/storage/table-gateway.js';
import type { ConnectionSettings } from '../domain/connection-settings.js';
import type { DirectorySource } from '../ports/directory-source.js';
import type { PhotoSource, SecurityAttributeSource } from '../ports/directory-source.js';
import type { Logger } from '../ports/logger.js';

/**
 * What the use cases need. The composition root (src/app-services.ts) builds one set per invocation,
 * around a table gateway with its own write meter, so each message can say what it wrote.
 */
export interface PipelineDeps {
  readonly tables: TableGateway;
  readonly queues: QueueGateway;
  readonly chunkStore: ChunkStore;
  /** The runs' change sets (container change-sets): what the planner decided, per chunk. */
  readonly changeSets: ChunkStore;
  /** What the managers rule reads of every linked person, per bucket (manager-index.ts). */
  readonly managerIndex: ManagerIndex;
  /** The tenant's group graph as the planner reads it, and its version. */
  readonly groupGraph: GroupGraphStore;
  readonly runs: RunStore;
  readonly settled: SettledRounds;
  readonly syncState: SyncStateStore;
  readonly connections: ConnectionStore;
  readonly buckets: number;
  readonly flushEveryPages: number;
  /** A first round's users phase also flushes this long after its last flush (SYNC_FLUSH_EVERY_MS). */
  readonly flushEveryMs: number;
  directorySourceFor(settings: ConnectionSettings): Promise<DirectorySource>;
  /** People's photos (Blob Storage + `personPhotos`) and the passes' bookkeeping (`syncState`). */
  readonly photoStore: PersonPhotoStore;
  readonly passState: PassStateStore;
  /** Graph reads delta does not cover: photos, custom security attributes. */
  photoSourceFor(settings: ConnectionSettings): Promise<PhotoSource>;
  securityAttributeSourceFor(settings: ConnectionSettings): Promise<SecurityAttributeSource>;
  now(): Date;
}

export type { Logger };
