import type { HttpResponseInit } from '@azure/functions';
import escapeHtml from 'escape-html';

import type { ConsentOutcome } from '../../usecases/connect-by-consent.js';

/**
 * The small page the admin lands on after the consent screen: what happened and what to do next.
 * Every value is escaped (escape-html) — a callback's parameters are anyone's input — and the page
 * runs no script and loads nothing (a Content-Security-Policy of `default-src 'none'`).
 */
export function consentPage(outcome: ConsentOutcome, connectUrl: string): HttpResponseInit {
  switch (outcome.kind) {
    case 'connected':
      return page(200, 'Tenant connected', [
        `Tenant ${outcome.tenantId} is connected and its first sync has started.`,
        `Granted permissions: ${[...outcome.roles].sort().join(', ') || 'none'}.`,
        outcome.subscriptions === 'created'
          ? 'Change notifications are on: changes in Entra ID reach the directory in seconds.'
          : outcome.subscriptions === 'failed'
            ? 'Change notifications could not be set up yet; they are retried every few seconds, and scheduled syncs run meanwhile.'
            : 'Change notifications are off (no public webhook URL); scheduled syncs keep the directory up to date.',
      ]);
    case 'missing-permissions':
      return page(
        200,
        'Permissions missing',
        [
          `Tenant ${outcome.tenantId} was saved but not enabled: the consent did not grant every permission the sync needs.`,
          'Missing:',
        ],
        outcome.missing.map((m) => `${m.permission}: needed to ${m.why}`),
        [
          'Grant them (an administrator of the tenant, in Enterprise applications → Permissions), or start the connection again and accept every permission:',
        ],
        connectUrl,
      );
    case 'failed':
      return page(
        200,
        outcome.failure.title,
        [
          outcome.failure.advice,
          `Entra said: ${outcome.error}${outcome.description ? ` (${outcome.description.split(/\r?\n/)[0]})` : ''}`,
        ],
        [],
        [],
        connectUrl,
      );
    case 'refused':
      return page(outcome.status, 'Not connected', [outcome.reason], [], [], connectUrl);
  }
}

function page(
  status: number,
  title: string,
  paragraphs: readonly string[],
  items: readonly string[] = [],
  after: readonly string[] = [],
  connectUrl?: string,
): HttpResponseInit {
  const body = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeHtml(title)}</title></head><body>`,
    `<h1>${escapeHtml(title)}</h1>`,
    ...paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`),
    ...(items.length > 0 ? ['<ul>', ...items.map((i) => `<li>${escapeHtml(i)}</li>`), '</ul>'] : []),
    ...after.map((p) => `<p>${escapeHtml(p)}</p>`),
    ...(connectUrl ? [`<p><a href="${escapeHtml(connectUrl)}">Connect a tenant</a></p>`] : []),
    '</body></html>',
  ].join('\n');
  return {
    status,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': "default-src 'none'",
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
    },
    body,
  };
}
