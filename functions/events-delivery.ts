import { app, type InvocationContext, type Timer } from '@azure/functions';

import { loggerFor } from '../src/adapters/functions/invocation-logger.js';
import { appServices } from '../src/app-services.js';
import { eventServices } from '../src/event-services.js';
import { deliverAllEvents } from '../src/usecases/deliver-events.js';

/**
 * Every 2 seconds: the app's events to its webhook, for each connection with `appWebhook` enabled
 * (signed, in order per person, retried with back-off, dead-lettered after `maxAttempts`; see
 * src/usecases/deliver-events.ts).
 */
export async function deliverEvents(_timer: Timer, context: InvocationContext): Promise<void> {
  const log = loggerFor(context);
  const connections = (await appServices().deps().connections.list()).map((c) => c.settings);
  if (!connections.some((c) => c.appWebhook?.enabled)) return;
  const reports = await deliverAllEvents(eventServices().deliveryDeps(log), connections);
  for (const report of reports) {
    if (report.delivered > 0 || report.failedAttempts > 0 || report.deadLettered > 0) {
      log.info('app events delivered', { ...report });
    }
  }
}

app.timer('events-delivery', { schedule: '*/2 * * * * *', runOnStartup: false, handler: deliverEvents });
