/** The app's services on an Azurite of their own, with one tenant's connection saved: for use-case tests. */
import { type EmbeddedAzurite, startAzurite } from '../../../local/azurite/embedded-azurite.js';
import { AppServices } from '../../../src/app-services.js';
import { readAppSettings } from '../../../src/config/app-settings.js';
import { connectionSettingsSchema } from '../../../src/domain/connection-settings.js';
import { TENANT } from '../domain/arbitraries.js';

/** Azurite started, its storage provisioned, and TENANT's connection saved (managed identity, `policy`). */
export async function startAppOnAzurite(
  buckets: number,
  policy?: Record<string, unknown>,
): Promise<{ azurite: EmbeddedAzurite; app: AppServices }> {
  const azurite = await startAzurite();
  const app = new AppServices(
    readAppSettings({ AzureWebJobsStorage: azurite.connectionString, SYNC_BUCKETS: String(buckets) }),
    {},
  );
  await app.provisionStorage();
  const connection = connectionSettingsSchema.parse({
    tenantId: TENANT,
    displayName: 'Contoso',
    credential: { kind: 'managed-identity' },
    ...(policy ? { policy } : {}),
  });
  await app.deps().connections.save(connection, null);
  return { azurite, app };
}
