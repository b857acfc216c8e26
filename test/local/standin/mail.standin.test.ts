/** sendMail through the real `@microsoft/microsoft-graph-client` against the running stand-in. */
import { readFileSync } from 'node:fs';

import { GraphError } from '@microsoft/microsoft-graph-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type RunningStandin, startStandin } from '../../../local/standin/index.js';
import { FIXTURES_DIR } from './plugin-fixtures.js';
import { graphClient } from './standin-test-clients.js';

let standin: RunningStandin;

beforeAll(async () => {
  standin = await startStandin({ users: 10, seed: 3 });
});

afterAll(async () => {
  await standin?.stop();
});

const documentedBody = (
  JSON.parse(readFileSync(`${FIXTURES_DIR}/sendmail.request.json`, 'utf8')) as { request: { body: unknown } }
).request.body;

function sender(): { id: string; userPrincipalName: string } {
  const user = standin.control
    .snapshot()
    .users.find((u) => !u.deleted && u.accountEnabled && u.userType === 'Member')!;
  return { id: user.id, userPrincipalName: String(user.userPrincipalName) };
}

describe('sendMail through the Graph client', () => {
  it('answers 202 and the message is in the outbox (control API /_standin/outbox)', async () => {
    const from = sender();
    await fetch(`${standin.controlUrl}/outbox`, { method: 'DELETE' });

    await graphClient(standin).api(`/users/${from.userPrincipalName}/sendMail`).post(documentedBody);

    const outbox = (await (await fetch(`${standin.controlUrl}/outbox`)).json()) as {
      messages: { subject: string; sender: { id: string }; toRecipients: string[] }[];
    };
    expect(outbox.messages).toEqual([
      expect.objectContaining({
        subject: 'Meet for lunch?',
        sender: expect.objectContaining({ id: from.id }) as unknown,
      }),
    ]);
    expect(standin.outbox.messages()[0]?.toRecipients).toEqual(['frannis@contoso.com']);
  });

  it('answers 403 when Mail.Send is not granted, and nothing reaches the outbox', async () => {
    standin.outbox.clear();
    standin.control.setGrantedPermissions(['User.Read.All', 'GroupMember.Read.All']);
    try {
      const error: unknown = await graphClient(standin)
        .api(`/users/${sender().id}/sendMail`)
        .post(documentedBody)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GraphError);
      expect((error as GraphError).statusCode).toBe(403);
      expect(standin.outbox.messages()).toHaveLength(0);
    } finally {
      standin.control.setGrantedPermissions(['User.Read.All', 'GroupMember.Read.All', 'Mail.Send']);
    }
  });

  it('answers 404 for an unknown sender', async () => {
    const error: unknown = await graphClient(standin)
      .api('/users/nobody@nowhere.example/sendMail')
      .post(documentedBody)
      .catch((e: unknown) => e);
    expect((error as GraphError).statusCode).toBe(404);
  });
});
