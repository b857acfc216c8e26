/**
 * sendMail through its route handler (in-process over the stand-in's Router): Graph's validation, 202,
 * the outbox, the MIME form and the fixtures `sendmail.request.json` / `error.sendmail.invalid-mime.json`.
 */
import { describe, expect, it } from 'vitest';

import { Router } from '../../../local/standin/http/router.js';
import { registerMailRoutes } from '../../../local/standin/mail/index.js';
import { callRoute, expectShapeCovers, loadFixture } from './plugin-fixtures.js';

const SENDER = {
  id: '11111111-2222-3333-4444-555555555555',
  userPrincipalName: 'ops@contoso.com',
  mail: 'ops@contoso.com',
};

function setUp() {
  const router = new Router();
  const outbox = registerMailRoutes(router, {
    findUser: (key) =>
      key === SENDER.id || key.toLowerCase() === SENDER.userPrincipalName ? SENDER : undefined,
    now: () => Date.parse('2026-01-02T03:04:05Z'),
  });
  const send = (idOrUpn: string, body: unknown, roles: readonly string[] = ['Mail.Send']) =>
    callRoute(router, 'POST', `/users/${encodeURIComponent(idOrUpn)}/sendMail`, { body, roles });
  return { router, outbox, send };
}

const message = (to: string[]) => ({
  message: {
    subject: 'Sync finished',
    body: { contentType: 'Text', content: '12 people updated.' },
    toRecipients: to.map((address) => ({ emailAddress: { address } })),
  },
  saveToSentItems: false,
});

describe('sendMail', () => {
  it('sendmail.request.json: the documented body → 202 with no body, and the message lands in the outbox', async () => {
    const fixture = loadFixture('sendmail.request.json');
    const { send, outbox } = setUp();

    const response = await send(SENDER.userPrincipalName, fixture.request?.body);

    expect(response.status).toBe(fixture.response?.status);
    expect(response.body).toBeUndefined();
    expect(outbox.messages()).toEqual([
      {
        id: expect.any(String) as unknown,
        sender: { id: SENDER.id, userPrincipalName: SENDER.userPrincipalName, address: SENDER.mail },
        subject: 'Meet for lunch?',
        body: { contentType: 'Text', content: 'The new cafeteria is open.' },
        toRecipients: ['frannis@contoso.com'],
        ccRecipients: ['danas@contoso.com'],
        bccRecipients: [],
        saveToSentItems: false,
        format: 'json',
        sentDateTime: '2026-01-02T03:04:05Z',
      },
    ]);
  });

  it('accepts the sender by object id too, and clear() empties the outbox', async () => {
    const { send, outbox } = setUp();
    expect((await send(SENDER.id, message(['a@contoso.com']))).status).toBe(202);
    expect(outbox.messages()).toHaveLength(1);
    outbox.clear();
    expect(outbox.messages()).toHaveLength(0);
  });

  it('answers 403 without the Mail.Send permission and keeps the outbox empty', async () => {
    const { send, outbox } = setUp();
    const response = await send(SENDER.id, message(['a@contoso.com']), ['User.Read.All']);
    expect(response.status).toBe(403);
    expect(outbox.messages()).toHaveLength(0);
  });

  it('answers 404 ErrorInvalidUser for an unknown sender', async () => {
    const { send } = setUp();
    const response = await send('nobody@contoso.com', message(['a@contoso.com']));
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({ error: { code: 'ErrorInvalidUser' } });
  });

  it('answers 400 ErrorInvalidRecipients with no recipient or a malformed address', async () => {
    const { send, outbox } = setUp();
    const none = await send(SENDER.id, message([]));
    const malformed = await send(SENDER.id, message(['not-an-address']));
    expect([none.status, malformed.status]).toEqual([400, 400]);
    expect(none.body).toMatchObject({ error: { code: 'ErrorInvalidRecipients' } });
    expect(malformed.body).toMatchObject({ error: { code: 'ErrorInvalidRecipients' } });
    expect(outbox.messages()).toHaveLength(0);
  });

  it('answers 400 when the body has no message', async () => {
    const { send } = setUp();
    const response = await send(SENDER.id, { saveToSentItems: true });
    expect(response.status).toBe(400);
  });

  it('accepts a base64 MIME message (Content-Type text/plain) and reads its headers', async () => {
    const { router, outbox } = setUp();
    const mime = [
      'From: ops@contoso.com',
      'To: A <a@contoso.com>, b@contoso.com',
      'Subject: Hello',
      '',
      'Body text',
    ].join('\r\n');

    const response = await callRoute(router, 'POST', `/users/${SENDER.id}/sendMail`, {
      rawBody: Buffer.from(Buffer.from(mime).toString('base64')),
      contentType: 'text/plain',
      roles: ['Mail.Send'],
    });

    expect(response.status).toBe(202);
    expect(outbox.messages()[0]).toMatchObject({
      format: 'mime',
      subject: 'Hello',
      toRecipients: ['a@contoso.com', 'b@contoso.com'],
    });
  });

  it('error.sendmail.invalid-mime.json: a MIME body that is not base64 → the documented 400 shape (no innerError)', async () => {
    const fixture = loadFixture('error.sendmail.invalid-mime.json');
    const { router } = setUp();

    const response = await callRoute(router, 'POST', `/users/${SENDER.id}/sendMail`, {
      rawBody: Buffer.from('this is not base64!'),
      contentType: fixture.request?.headers?.['Content-type'],
      roles: ['Mail.Send'],
    });

    expect(response.status).toBe(fixture.response?.status);
    expectShapeCovers(response.body, fixture.response?.body);
    expect(response.body).toEqual(fixture.response?.body);
  });
});
