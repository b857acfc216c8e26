import { app, type InvocationContext, type Timer } from '@azure/functions';

import { loggerFor } from '../src/adapters/functions/invocation-logger.js';
import { appServices } from '../src/app-services.js';
import { requestDueRounds } from '../src/usecases/request-sync.js';

/** Every minute: a sync request for each connection whose schedule is due. */
export async function scheduler(_timer: Timer, context: InvocationContext): Promise<void> {
  const result = await requestDueRounds(appServices().deps());
  if (result.due.length > 0) loggerFor(context).info('rounds requested', result);
}

app.timer('scheduler', { schedule: '0 * * * * *', runOnStartup: false, handler: scheduler });
