import { TableClient, type TableServiceClientOptions } from '@azure/data-tables';
import { ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';

import type { AppSettings } from '../../config/app-settings.js';

/**
 * How to reach the storage account: a connection string (Azurite, local) or service URIs with the
 * function app's managed identity (Azure).
 */
export interface StorageAccount {
  tableClient(table: string): TableClient;
  queueService(): QueueServiceClient;
  blobService(): BlobServiceClient;
}

export function storageAccountFromSettings(settings: AppSettings): StorageAccount {
  if (settings.AzureWebJobsStorage) return storageAccountFromConnectionString(settings.AzureWebJobsStorage);
  const credential: TokenCredential = new ManagedIdentityCredential(
    settings.AzureWebJobsStorage__clientId ? { clientId: settings.AzureWebJobsStorage__clientId } : {},
  );
  const tableUri = settings.AzureWebJobsStorage__tableServiceUri!;
  return {
    tableClient: (table) => new TableClient(tableUri, table, credential),
    queueService: () => new QueueServiceClient(settings.AzureWebJobsStorage__queueServiceUri!, credential),
    blobService: () => new BlobServiceClient(settings.AzureWebJobsStorage__blobServiceUri!, credential),
  };
}

export function storageAccountFromConnectionString(connectionString: string): StorageAccount {
  const insecure =
    /DefaultEndpointsProtocol=http;/i.test(connectionString) || /=http:\/\//i.test(connectionString);
  const tableOptions: TableServiceClientOptions = { allowInsecureConnection: insecure };
  return {
    tableClient: (table) => TableClient.fromConnectionString(connectionString, table, tableOptions),
    queueService: () => QueueServiceClient.fromConnectionString(connectionString),
    blobService: () => BlobServiceClient.fromConnectionString(connectionString),
  };
}
