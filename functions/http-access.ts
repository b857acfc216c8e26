import { app, type HttpRequest } from '@azure/functions';

import { httpAuthMode, refusalOf } from '../src/adapters/functions/http-auth.js';

/**
 * Point 7 of issue 11, the app's side of App Service authentication: before any HTTP function runs,
 * its route's app role is checked on the principal Easy Auth passed on (SYNC_HTTP_AUTH=app-service);
 * a request without it is answered 401/403 and the function never runs. With function keys (locally,
 * the default) the host has checked the key and nothing more happens here.
 */
const mode = httpAuthMode();

app.hook.preInvocation((context) => {
  if (mode !== 'app-service') return;
  const trigger = context.invocationContext.options.trigger as { type?: string; route?: string };
  if (trigger.type?.toLowerCase() !== 'httptrigger') return;
  const request = context.inputs[0] as HttpRequest | undefined;
  if (!request) return;
  const refusal = refusalOf(request, trigger.route ?? '', mode);
  if (refusal) context.functionHandler = () => refusal;
});
