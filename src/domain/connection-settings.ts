import { z } from 'zod';

import { CLOUD_PRESETS, type CloudPreset } from './cloud.js';
import { WEEKDAYS } from './schedule.js';

/**
 * A connection: one Entra tenant synced into the app, with the admin's settings. Parsed at every
 * boundary (the connections table, the admin API) with this schema.
 */
const time = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected a local time as HH:mm');
const timeZone = z.string().refine(isTimeZone, 'expected an IANA time zone such as Europe/Paris');
const guid = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'expected a GUID');
const httpsUrl = z.url({ protocol: /^https$/ });
const secretName = z.string().regex(/^[0-9a-zA-Z-]{1,127}$/, 'expected a Key Vault secret name');

export const scheduleSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('manual') }),
  z.object({
    kind: z.literal('interval'),
    minutes: z
      .number()
      .int()
      .min(1)
      .max(24 * 60),
  }),
  z.object({ kind: z.literal('hourly'), minute: z.number().int().min(0).max(59).default(0) }),
  z.object({ kind: z.literal('daily'), time, timeZone }),
  z.object({ kind: z.literal('twice-daily'), times: z.tuple([time, time]), timeZone }),
  z.object({ kind: z.literal('weekly'), day: z.enum(WEEKDAYS), time, timeZone }),
]);

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
  /** Room for the admin's policy (scope, mapping, merge strategy, …); the default policy applies today. */
  policy: z.object({}).loose().default({}),
});

export type ConnectionSettings = z.infer<typeof connectionSettingsSchema>;
export type ConnectionSettingsInput = z.input<typeof connectionSettingsSchema>;

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}
