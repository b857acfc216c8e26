import { app, type InvocationContext, type Timer } from '@azure/functions';

import { loggerFor } from '../src/adapters/functions/invocation-logger.js';
import { appServices } from '../src/app-services.js';
import { eventServices } from '../src/event-services.js';
import { pruneEvents } from '../src/usecases/prune-events.js';

/** Hourly: the app's events older than SYNC_EVENTS_RETENTION_DAYS (30) are deleted. */
export async function retainEvents(_timer: Timer, context: InvocationContext): Promise<void> {
  const results = await pruneEvents(
    appServices().deps(),
    eventServices().settings.SYNC_EVENTS_RETENTION_DAYS,
  );
  const deleted = results.filter((r) => r.deleted > 0);
  if (deleted.length > 0) loggerFor(context).info('old app events deleted', { tenants: deleted });
}

app.timer('events-retention', { schedule: '0 17 * * * *', runOnStartup: false, handler: retainEvents });
