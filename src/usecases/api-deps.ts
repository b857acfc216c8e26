import type { CustomPropertyStore } from '../adapters/storage/custom-property-store.js';
import type { DisputeStore } from '../adapters/storage/dispute-store.js';
import type { EmailIndexStore } from '../adapters/storage/email-index-store.js';
import type { MirrorGroupReader } from '../adapters/storage/mirror-group-reader.js';
import type { PeopleStore } from '../adapters/storage/people-store.js';
import type { PersonHistoryStore } from '../adapters/storage/person-history-store.js';
import type { SettingsHistoryStore } from '../adapters/storage/settings-history-store.js';
import type { TeamStore } from '../adapters/storage/team-store.js';
import type { PipelineDeps } from './pipeline-deps.js';

/** What the HTTP API's use cases need (built by src/api-services.ts). */
export interface ApiDeps {
  readonly pipeline: PipelineDeps;
  readonly settingsHistory: SettingsHistoryStore;
  readonly mirrorGroups: MirrorGroupReader;
  readonly people: PeopleStore;
  readonly emailIndex: EmailIndexStore;
  readonly personHistory: PersonHistoryStore;
  readonly teams: TeamStore;
  readonly customProperties: CustomPropertyStore;
  readonly disputes: DisputeStore;
  /** A new random id (people and teams made by the app). */
  newId(): string;
}
