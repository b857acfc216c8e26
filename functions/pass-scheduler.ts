import { app, type InvocationContext, type Timer } from '@azure/functions';

import { loggerFor } from '../src/adapters/functions/invocation-logger.js';
import { appServices } from '../src/app-services.js';
import { requestDuePasses } from '../src/usecases/request-passes.js';

/** Every minute: a photo pass for each connection whose photo schedule is due, and security-attribute passes. */
export async function passScheduler(_timer: Timer, context: InvocationContext): Promise<void> {
  const result = await requestDuePasses(appServices().deps());
  if (result.photos.length + result.securityAttributes.length > 0) {
    loggerFor(context).info('passes requested', result);
  }
}

app.timer('pass-scheduler', { schedule: '30 * * * * *', runOnStartup: false, handler: passScheduler });
