import { app, type InvocationContext, type Timer } from '@azure/functions';

import { loggerFor } from '../src/adapters/functions/invocation-logger.js';
import { notificationServices } from '../src/notification-services.js';
import { maintainSubscriptions } from '../src/usecases/maintain-subscriptions.js';

/**
 * Every 5 seconds: subscriptions created for enabled connections, renewed before expiry or when Graph
 * asked, created again when Graph lost them, deleted with their connection. A pass with nothing due
 * reads two partitions and calls nobody.
 */
export async function subscriptionsRenewal(_timer: Timer, context: InvocationContext): Promise<void> {
  const log = loggerFor(context);
  const report = await maintainSubscriptions(notificationServices().deps(), log);
  if (report.created + report.renewed + report.recreated + report.removed + report.failed.length > 0) {
    log.info('subscriptions maintained', { ...report });
  }
}

app.timer('subscriptions-renewal', {
  schedule: '*/5 * * * * *',
  runOnStartup: false,
  handler: subscriptionsRenewal,
});
