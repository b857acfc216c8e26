import type { TokenCredential } from '@azure/identity';

import { OutputBindingQueues } from './adapters/functions/output-binding-queues.js';
import { APP_IDENTITY_CLIENT_ID_SETTING, createGraphCredential } from './adapters/graph/graph-credential.js';
import { GraphDirectorySource } from './adapters/graph/graph-directory-source.js';
import {
  createAppIdentityCredential,
  KeyVaultSecretStore,
} from './adapters/keyvault/key-vault-secret-store.js';
import { ChunkStore } from './adapters/storage/chunk-store.js';
import { ConnectionStore } from './adapters/storage/connection-store.js';
import { GroupGraphStore } from './adapters/storage/group-graph-store.js';
import { ManagerIndex } from './adapters/storage/manager-index.js';
import { PassStateStore } from './adapters/storage/pass-state-store.js';
import { PersonPhotoStore } from './adapters/storage/person-photo-store.js';
import { QueueGateway } from './adapters/storage/queue-gateway.js';
import { RunStore } from './adapters/storage/run-store.js';
import { SettledRounds } from './adapters/storage/settled-rounds.js';
import { type StorageAccount, storageAccountFromSettings } from './adapters/storage/storage-account.js';
import { CONTAINERS, QUEUES, TABLES } from './adapters/storage/storage-names.js';
import { SyncStateStore } from './adapters/storage/sync-state-store.js';
import { TableGateway, WriteMeter } from './adapters/storage/table-gateway.js';
import { type AppSettings, readAppSettings } from './config/app-settings.js';
import { resolveCloud } from './domain/cloud.js';
import type { ConnectionSettings } from './domain/connection-settings.js';
import { directoryExtensionsOf } from './domain/mirrored-properties.js';
import type { DirectorySource } from './ports/directory-source.js';
import type { PipelineDeps } from './usecases/pipeline-deps.js';

/**
 * The composition root: settings read once, clients made once per process, and a fresh set of
 * use-case dependencies (with its own write meter) per invocation.
 */
export class AppServices {
  readonly #account: StorageAccount;
  readonly #tables: TableGateway;
  readonly #queues: QueueGateway;
  readonly #chunks: ChunkStore;
  readonly #changeSets: ChunkStore;
  readonly #managerIndex: ManagerIndex;
  readonly #secrets: KeyVaultSecretStore | undefined;
  readonly #appIdentityClientId: string | undefined;
  readonly #credentials = new Map<string, TokenCredential>();

  /** `identityEnv`: where the app's own identity comes from (process.env; see createAppIdentityCredential). */
  constructor(
    readonly settings: AppSettings,
    identityEnv: NodeJS.ProcessEnv = process.env,
  ) {
    this.#account = storageAccountFromSettings(settings);
    this.#tables = new TableGateway(this.#account);
    this.#queues = new QueueGateway(this.#account.queueService());
    this.#chunks = new ChunkStore(this.#account.blobService());
    this.#changeSets = new ChunkStore(this.#account.blobService(), CONTAINERS.changeSets);
    // One per process: it keeps the index's buckets it read or wrote (by ETag) between invocations.
    this.#managerIndex = new ManagerIndex(this.#changeSets);
    this.#secrets = settings.KEY_VAULT_URI
      ? new KeyVaultSecretStore(settings.KEY_VAULT_URI, createAppIdentityCredential(identityEnv))
      : undefined;
    this.#appIdentityClientId = identityEnv[APP_IDENTITY_CLIENT_ID_SETTING];
  }

  /** Dependencies for one invocation, counting its writes. */
  deps(): PipelineDeps {
    const tables = this.#tables.withMeter(new WriteMeter());
    return {
      tables,
      queues: this.#queues,
      chunkStore: this.#chunks,
      changeSets: this.#changeSets,
      groupGraph: new GroupGraphStore(tables),
      managerIndex: this.#managerIndex,
      runs: new RunStore(tables),
      settled: new SettledRounds(tables),
      syncState: new SyncStateStore(tables, this.settings.SYNC_LEASE_SECONDS),
      connections: new ConnectionStore(tables),
      buckets: this.settings.SYNC_BUCKETS,
      flushEveryPages: this.settings.SYNC_FLUSH_EVERY_PAGES,
      flushEveryMs: this.settings.SYNC_FLUSH_EVERY_MS,
      directorySourceFor: (connection) => this.#directorySource(connection),
      photoStore: new PersonPhotoStore(tables, this.#account.blobService()),
      passState: new PassStateStore(tables),
      photoSourceFor: (connection) => this.#graphReads(connection),
      securityAttributeSourceFor: (connection) => this.#graphReads(connection),
      now: () => new Date(),
    };
  }

  /** A queue gateway whose undelayed messages go out through one invocation's output bindings. */
  outputQueues(): OutputBindingQueues {
    return new OutputBindingQueues(this.#account.queueService());
  }

  /** Creates every table, queue (and its -poison twin) and container; idempotent. */
  async provisionStorage(): Promise<void> {
    await Promise.all(
      Object.values(TABLES).map(async (table) => {
        try {
          await this.#tables.client(table).createTable();
        } catch (error) {
          if ((error as { statusCode?: number }).statusCode !== 409) throw error;
        }
      }),
    );
    await this.#queues.createQueues(Object.values(QUEUES));
    await Promise.all(
      Object.values(CONTAINERS).map((name) =>
        this.#account.blobService().getContainerClient(name).createIfNotExists(),
      ),
    );
  }

  async #directorySource(connection: ConnectionSettings): Promise<DirectorySource> {
    const cloud = resolveCloud(connection.cloud);
    return new GraphDirectorySource({
      cloud,
      credential: await this.#credential(connection),
      maxRetries: this.settings.GRAPH_MAX_RETRIES,
      directoryExtensions: directoryExtensionsOf(connection.policy),
    });
  }

  /** Graph reads outside delta (photos, custom security attributes), on the connection's credential. */
  async #graphReads(connection: ConnectionSettings): Promise<GraphDirectorySource> {
    return new GraphDirectorySource({
      cloud: resolveCloud(connection.cloud),
      credential: await this.#credential(connection),
      maxRetries: this.settings.GRAPH_MAX_RETRIES,
    });
  }

  async #credential(connection: ConnectionSettings): Promise<TokenCredential> {
    const cached = this.#credentials.get(connection.tenantId);
    if (cached) return cached;
    const credential = await createGraphCredential(connection, {
      appIdentityClientId: this.#appIdentityClientId,
      secrets: this.#secrets,
    });
    this.#credentials.set(connection.tenantId, credential);
    return credential;
  }
}

let services: AppServices | undefined;

/** The process's services, built on first use from the app settings. */
export function appServices(): AppServices {
  services ??= new AppServices(readAppSettings());
  return services;
}
