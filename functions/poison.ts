import { app, type InvocationContext, type Timer } from '@azure/functions';

import { loggerFor } from '../src/adapters/functions/invocation-logger.js';
import { appServices } from '../src/app-services.js';
import { drainPoisonQueues } from '../src/usecases/drain-poison.js';

/**
 * Every 5 seconds: each `<queue>-poison` queue drained into the run's (or the tenant's) error log, with
 * the reason. A timer rather than a trigger on each poison queue: the host would never hand a trigger a
 * message it cannot decode, and keeps a failed message of a `-poison` queue invisible forever after.
 */
export async function drainPoison(_timer: Timer, context: InvocationContext): Promise<void> {
  const log = loggerFor(context);
  const result = await drainPoisonQueues(appServices().deps(), log);
  if (result.drained > 0 || result.failed > 0) log.info('poison queues drained', result);
}

app.timer('drain-poison', { schedule: '*/5 * * * * *', runOnStartup: false, handler: drainPoison });
