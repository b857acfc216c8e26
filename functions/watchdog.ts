import { app, type InvocationContext, type Timer } from '@azure/functions';

import { loggerFor } from '../src/adapters/functions/invocation-logger.js';
import { appServices } from '../src/app-services.js';
import { watchRuns } from '../src/usecases/watch-runs.js';

/**
 * Every 2 seconds: resume rounds whose fetcher died, publish again the chunks whose host died, and
 * complete runs whose chunks are all in (see src/usecases/watch-runs.ts for the bounds).
 */
export async function watchdog(_timer: Timer, context: InvocationContext): Promise<void> {
  const log = loggerFor(context);
  const report = await watchRuns(appServices().deps(), log);
  if (report.resumedRounds.length > 0 || report.republished > 0 || report.lost > 0) {
    log.warn('watchdog recovered stalled work', { ...report });
  }
}

app.timer('watchdog', { schedule: '*/2 * * * * *', runOnStartup: false, handler: watchdog });
