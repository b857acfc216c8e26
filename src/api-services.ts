import { randomUUID } from 'node:crypto';

import { CustomPropertyStore } from './adapters/storage/custom-property-store.js';
import { DisputeStore } from './adapters/storage/dispute-store.js';
import { EmailIndexStore } from './adapters/storage/email-index-store.js';
import { MirrorGroupReader } from './adapters/storage/mirror-group-reader.js';
import { PeopleStore } from './adapters/storage/people-store.js';
import { PersonHistoryStore } from './adapters/storage/person-history-store.js';
import { SettingsHistoryStore } from './adapters/storage/settings-history-store.js';
import { TeamStore } from './adapters/storage/team-store.js';
import { type AppServices, appServices } from './app-services.js';
import type { ApiDeps } from './usecases/api-deps.js';

/**
 * The composition root of the HTTP API (settings, people, teams, custom properties, disputes),
 * beside the pipeline's (src/app-services.ts), on the same per-invocation dependencies.
 */
export function apiDeps(app: AppServices = appServices()): ApiDeps {
  const pipeline = app.deps();
  const { tables } = pipeline;
  return {
    pipeline,
    settingsHistory: new SettingsHistoryStore(tables),
    mirrorGroups: new MirrorGroupReader(tables),
    people: new PeopleStore(tables, pipeline.buckets),
    emailIndex: new EmailIndexStore(tables),
    personHistory: new PersonHistoryStore(tables),
    teams: new TeamStore(tables),
    customProperties: new CustomPropertyStore(tables),
    disputes: new DisputeStore(tables),
    newId: () => randomUUID(),
  };
}
