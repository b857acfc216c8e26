import { z } from 'zod';

import { CLOUD_PRESETS, type CloudPreset } from './cloud.js';
import { policySchema } from './policy.js';
import { runNotificationsSchema } from './run-notifications.js';
import { scheduleSchema } from './schedule-schema.js';

export { scheduleSchema };

/**
 * A connection: one Entra tenant synced into the app, with the admin's settings. Parsed at every
 * boundary (the connections table, the admin API) with this schema.
 */
const guid = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'expected a GUID');
const httpsUrl = z.url({ protocol: /^https$/ });
const secretName = z.string().regex(/^[0-9a-zA-Z-]{1,127}$/, 'expected a Key Vault secret name');

export const cloudSchema = z.union([
  z.object({ preset: z.enum(Object.keys(CLOUD_PRESETS) as [CloudPreset, ...CloudPreset[]]) }).strict(),
  z.object({ authorityHost: httpsUrl, graphEndpoint: httpsUrl }).strict(),
]);

/** How the pipeline authenticates to the tenant. Secrets live in Key Vault; only their names here. */
export const credentialSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('managed-identity'), clientId: guid.optional() }),
  z.object({ kind: z.literal('client-secret'), clientId: guid, secretName }),
  z.object({ kind: z.literal('client-certificate'), clientId: guid, certificateSecretName: secretName }),
]);

export const connectionSettingsSchema = z.object({
  /** Lower-cased: partition keys are case-sensitive, tenant ids are not. */
  tenantId: guid.transform((id) => id.toLowerCase()),
  displayName: z.string().min(1).max(256),
  enabled: z.boolean().default(true),
  cloud: cloudSchema.default({ preset: 'global' }),
  credential: credentialSchema,
  schedule: scheduleSchema.default({ kind: 'daily', time: '02:00', timeZone: 'UTC' }),
  /** The admin's rules (scope, merge strategy, mappings, teams, photos): src/domain/policy.ts. */
  policy: policySchema.default(policySchema.parse({})),
  /** Who is told when a run ends (completed, with errors, failed, held): src/domain/run-notifications.ts. */
  notifications: runNotificationsSchema.optional(),
  /**
   * The app's event webhook (src/usecases/deliver-events.ts): the feed's events POSTed to `url`,
   * signed (Standard Webhooks) with the Key Vault secret named `secretName` (never the value here).
   * `url` is https (http only to a loopback host, for local receivers).
   */
  appWebhook: z
    .object({
      url: z
        .url({ protocol: /^https?$/ })
        .refine(
          (u) => u.startsWith('https:') || /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:|\/|$)/.test(u),
          'expected an https URL (http only to localhost)',
        ),
      secretName,
      enabled: z.boolean().default(true),
      /** Failed attempts before an event goes to the dead-letter list. */
      maxAttempts: z.number().int().min(1).max(20).default(8),
    })
    .strict()
    .optional(),
  /** The settings' version, set by the settings store on every save (history: settingsHistory). */
  version: z.number().int().min(0).default(0),
});

export type ConnectionSettings = z.infer<typeof connectionSettingsSchema>;
export type ConnectionSettingsInput = z.input<typeof connectionSettingsSchema>;
