import { z } from 'zod';

/**
 * Run notifications: the admin's choice of which run endings are told (`on`) and how (a mail through
 * Graph `sendMail` from a mailbox of the tenant, a signed webhook, or both). Secrets only by their Key
 * Vault name. Parsed with the connection's settings (src/domain/connection-settings.ts).
 */
export const RUN_NOTIFICATION_STATES = ['completed', 'completed-with-errors', 'failed', 'held'] as const;
export type RunNotificationState = (typeof RUN_NOTIFICATION_STATES)[number];

export const RUN_NOTIFICATION_CHANNELS = ['mail', 'webhook'] as const;
export type RunNotificationChannel = (typeof RUN_NOTIFICATION_CHANNELS)[number];

const address = z.email('expected a mail address').max(320);

export const runNotificationsSchema = z
  .object({
    /** The run endings that notify (default: the ones that need an admin). */
    on: z.array(z.enum(RUN_NOTIFICATION_STATES)).min(1).default(['failed', 'held']),
    /** Sent as `from` (its UPN), which needs the connection's Mail.Send application permission. */
    mail: z
      .object({ from: address, to: z.array(address).min(1).max(50) })
      .strict()
      .optional(),
    /** JSON, signed (HMAC-SHA256 over id, timestamp and body) with the Key Vault secret `secretName`. */
    webhook: z
      .object({
        url: z.url({ protocol: /^https$/, error: 'expected an https URL' }).max(2048),
        secretName: z.string().regex(/^[0-9a-zA-Z-]{1,127}$/, 'expected a Key Vault secret name'),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((n) => n.mail !== undefined || n.webhook !== undefined, {
    message: 'name a mail, a webhook or both',
  });
export type RunNotifications = z.infer<typeof runNotificationsSchema>;

/** The channels a run that ended `state` is told through (none when the state is not chosen). */
export function notificationChannels(
  settings: RunNotifications | undefined,
  state: string,
): RunNotificationChannel[] {
  if (!settings || !(settings.on as readonly string[]).includes(state)) return [];
  return RUN_NOTIFICATION_CHANNELS.filter((channel) => settings[channel] !== undefined);
}

export function isRunNotificationState(state: unknown): state is RunNotificationState {
  return (RUN_NOTIFICATION_STATES as readonly unknown[]).includes(state);
}
