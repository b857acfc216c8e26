/** GraphMailer against the running stand-in: sendMail lands in the outbox; refusals are permanent errors. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type RunningStandin, startStandin } from '../../../../local/standin/index.js';
import { GraphMailer } from '../../../../src/adapters/graph/graph-mail.js';
import { resolveCloud } from '../../../../src/domain/cloud.js';
import { PermanentError } from '../../../../src/shared/errors.js';
import { secretCredential } from '../../../local/standin/standin-test-clients.js';

let standin: RunningStandin;
let withoutMailSend: RunningStandin;

const mailerOf = (s: RunningStandin) =>
  new GraphMailer({
    cloud: resolveCloud({ authorityHost: s.authorityHost, graphEndpoint: s.graphEndpoint }),
    credential: secretCredential(s),
    maxRetries: 0,
  });
const mailboxOf = (s: RunningStandin) =>
  s.control
    .snapshot()
    .users.find((u) => !u.softDeleted && u.accountEnabled === true && u.userType === 'Member')!
    .userPrincipalName;

beforeAll(async () => {
  [standin, withoutMailSend] = await Promise.all([
    startStandin({ users: 10, seed: 5 }),
    startStandin({ users: 10, seed: 6, grantedPermissions: ['User.Read.All', 'GroupMember.Read.All'] }),
  ]);
});
afterAll(async () => {
  await standin?.stop();
  await withoutMailSend?.stop();
});

describe('GraphMailer', () => {
  it('sends a plain-text mail from the mailbox to every recipient, not saved to Sent Items', async () => {
    const from = mailboxOf(standin);
    await mailerOf(standin).send({
      from,
      to: ['a@contoso.example', 'b@contoso.example'],
      subject: 'Sync run held for Contoso: 12 change(s) wait for approval',
      text: 'line one\nline two',
    });
    expect(standin.outbox.messages()).toEqual([
      expect.objectContaining({
        sender: expect.objectContaining({ userPrincipalName: from }) as unknown,
        subject: 'Sync run held for Contoso: 12 change(s) wait for approval',
        body: { contentType: 'Text', content: 'line one\nline two' },
        toRecipients: ['a@contoso.example', 'b@contoso.example'],
        saveToSentItems: false,
        format: 'json',
      }),
    ]);
  });

  it('an unknown mailbox, a refused recipient and a missing Mail.Send permission are permanent errors', async () => {
    const send = (s: RunningStandin, from: string, to: string[]) =>
      mailerOf(s).send({ from, to, subject: 's', text: 't' });
    const unknown = await send(standin, 'nobody@contoso.example', ['a@contoso.example']).catch(
      (e: unknown) => e,
    );
    const badRecipient = await send(standin, mailboxOf(standin), ['not an address']).catch((e: unknown) => e);
    const forbidden = await send(withoutMailSend, mailboxOf(withoutMailSend), ['a@contoso.example']).catch(
      (e: unknown) => e,
    );
    expect(unknown).toBeInstanceOf(PermanentError);
    expect((unknown as PermanentError).category).toBe('user-not-found');
    expect(badRecipient).toBeInstanceOf(PermanentError);
    expect(forbidden).toBeInstanceOf(PermanentError);
    expect((forbidden as PermanentError).category).toBe('permission-denied');
  });
});
