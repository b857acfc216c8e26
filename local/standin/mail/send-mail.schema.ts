/** The JSON body of Graph's `sendMail` action (`{ message, saveToSentItems }`), parsed at the boundary. */
import { z } from 'zod';

const recipient = z.object({
  emailAddress: z.object({ address: z.string().optional(), name: z.string().optional() }).passthrough(),
});

export const sendMailJsonBody = z.object({
  message: z
    .object({
      subject: z.string().nullish(),
      body: z.object({ contentType: z.string().optional(), content: z.string().optional() }).nullish(),
      toRecipients: z.array(recipient).nullish(),
      ccRecipients: z.array(recipient).nullish(),
      bccRecipients: z.array(recipient).nullish(),
    })
    .passthrough(),
  // Documented as Boolean; the docs' own example sends the string "false", which Graph accepts.
  saveToSentItems: z.union([z.boolean(), z.enum(['true', 'false', 'True', 'False'])]).optional(),
});
export type SendMailJsonBody = z.infer<typeof sendMailJsonBody>;

const ADDRESS = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:"]+$/;

export function isValidAddress(address: string): boolean {
  return ADDRESS.test(address);
}

export function saveToSentItemsFlag(value: SendMailJsonBody['saveToSentItems']): boolean {
  return value === undefined ? true : value === true || String(value).toLowerCase() === 'true';
}
