import { z } from 'zod';

/**
 * The function app's settings, read and validated once at start. Only names and endpoints: no secret
 * ever lives in an app setting (storage uses a managed identity in Azure; Key Vault holds the rest).
 */
export const appSettingsSchema = z
  .object({
    AzureWebJobsStorage: z.string().min(1).optional(),
    AzureWebJobsStorage__tableServiceUri: z.url().optional(),
    AzureWebJobsStorage__queueServiceUri: z.url().optional(),
    AzureWebJobsStorage__blobServiceUri: z.url().optional(),
    AzureWebJobsStorage__clientId: z.string().optional(),
    KEY_VAULT_URI: z.url().optional(),
    /** Partitions per tenant for the big tables (16 to 64, see DESIGN.md). */
    SYNC_BUCKETS: z.coerce.number().int().min(16).max(64).default(64),
    /** Delta pages fetched between two flushes of queued changes (and checkpoints). */
    SYNC_FLUSH_EVERY_PAGES: z.coerce.number().int().min(1).max(1000).default(25),
    /**
     * A tenant's first round, which applies users as it reads them, also flushes when this long has
     * passed since its last flush: what a slow Graph gives is applied while the next pages come.
     */
    SYNC_FLUSH_EVERY_MS: z.coerce.number().int().min(100).max(600_000).default(2_000),
    /** One round's lease, renewed every third of it while the round runs; a dead fetcher's expires after it. */
    SYNC_LEASE_SECONDS: z.coerce.number().int().min(3).max(3600).default(4),
    /** Graph's retry handler: attempts after a 429/503 before the message is retried by the queue. */
    GRAPH_MAX_RETRIES: z.coerce.number().int().min(0).max(10).default(6),
    /** The webhook's public URL (`https://<app>/api/notifications`); no subscriptions are made without it. */
    SYNC_NOTIFICATION_URL: z.url().optional(),
    /** How long a notification's sync request waits for more notifications before its round starts. */
    SYNC_NOTIFICATION_DEBOUNCE_MS: z.coerce.number().int().min(0).max(10_000).default(500),
    /** Lifetime asked for a subscription (Graph allows 41,760 minutes for users and groups). */
    SYNC_SUBSCRIPTION_MINUTES: z.coerce.number().positive().max(41_760).default(41_700),
    /** The app's public URL (`https://<app>`): the consent flow's redirect URI is `<it>/api/connect/callback`. */
    SYNC_PUBLIC_BASE_URL: z.url().optional(),
    /** Multi-tenant mode: the client id of the app registration tenants consent to (empty: off). */
    SYNC_MULTITENANT_CLIENT_ID: z.preprocess(
      (v) => (v === '' ? undefined : v),
      z
        .string()
        .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'expected a GUID')
        .optional(),
    ),
    /** Multi-tenant mode: the Key Vault certificate (PEM) of that app registration (empty: off). */
    SYNC_MULTITENANT_CERTIFICATE_NAME: z.preprocess(
      (v) => (v === '' ? undefined : v),
      z
        .string()
        .regex(/^[0-9a-zA-Z-]{1,127}$/, 'expected a Key Vault secret name')
        .optional(),
    ),
    /** Multi-tenant mode: the cloud of the app registration (Entra authority and Graph endpoint). */
    SYNC_MULTITENANT_AUTHORITY_HOST: z.url().default('https://login.microsoftonline.com'),
    SYNC_MULTITENANT_GRAPH_ENDPOINT: z.url().default('https://graph.microsoft.com'),
    /** The Key Vault secret holding the HMAC key of consent states (made on first use). */
    SYNC_CONSENT_STATE_KEY_NAME: z
      .string()
      .regex(/^[0-9a-zA-Z-]{1,127}$/, 'expected a Key Vault secret name')
      .default('consent-state-key'),
    /** How long a consent state is accepted after /api/connect issued it. */
    SYNC_CONSENT_STATE_SECONDS: z.coerce.number().int().min(1).max(3600).default(600),
    /** `function-keys` (the host's keys) or `app-service` (Entra sign-in, the route's app role checked). */
    SYNC_HTTP_AUTH: z.enum(['function-keys', 'app-service']).default('function-keys'),
    /** The app's event feed is read this far behind now (src/usecases/read-events.ts). */
    SYNC_EVENTS_SETTLE_MS: z.coerce.number().int().min(0).max(60_000).default(2_000),
    /** The app webhook's back-off base: attempt n waits about base × 2^(n−1) (deliver-events.ts). */
    SYNC_EVENTS_RETRY_BASE_MS: z.coerce.number().int().min(10).max(60_000).default(1_000),
    /** How long the feed keeps an event (the events-retention timer). */
    SYNC_EVENTS_RETENTION_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  })
  .refine(
    (s) =>
      s.AzureWebJobsStorage !== undefined ||
      (s.AzureWebJobsStorage__tableServiceUri !== undefined &&
        s.AzureWebJobsStorage__queueServiceUri !== undefined &&
        s.AzureWebJobsStorage__blobServiceUri !== undefined),
    {
      message:
        'set AzureWebJobsStorage (a connection string) or AzureWebJobsStorage__tableServiceUri, ' +
        '__queueServiceUri and __blobServiceUri (identity-based)',
    },
  );

export type AppSettings = z.infer<typeof appSettingsSchema>;

export function readAppSettings(env: NodeJS.ProcessEnv = process.env): AppSettings {
  const parsed = appSettingsSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'settings'}: ${i.message}`);
    throw new Error(`Invalid app settings: ${problems.join('; ')}`);
  }
  return parsed.data;
}
