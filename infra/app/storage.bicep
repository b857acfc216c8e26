// The storage account of the app: the Functions host (AzureWebJobsStorage), the sync pipeline's
// tables and queues, the claim-check blobs and the Flex Consumption deployment package.
// Only Entra ID (managed identity / user) access: shared keys and SAS are disabled.

@description('Name of the storage account (3-24 lowercase letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region of the storage account.')
param location string

@description('Tags applied to the storage account.')
param tags object = {}

@description('Blob container that receives the function app deployment package.')
param deploymentContainerName string

@description('Private network only: public network access off (the app reaches blob, queue and table through private endpoints).')
param privateNetworkOnly bool = false

// Queues the app uses (storage-names.ts QUEUES), each with the `-poison` twin the Functions host moves
// failed messages to.
var queueNames = [
  'sync-requests'
  'sync-requests-poison'
  'directory-changes'
  'directory-changes-poison'
  'run-events'
  'run-events-poison'
  'photo-requests'
  'photo-requests-poison'
  'security-attribute-requests'
  'security-attribute-requests-poison'
  'run-notifications'
  'run-notifications-poison'
]

// Tables of the mirror, the projection and the run records: exactly src/adapters/storage/storage-names.ts
// TABLES (test/infra/bicep.test.ts compares the two).
var tableNames = [
  'connections'
  'syncState'
  'dirUsers'
  'dirGroups'
  'people'
  'peopleByEmail'
  'teams'
  'runs'
  'runErrors'
  'runChunks'
  'tenantErrors'
  'pendingChanges'
  'subscriptions'
  'settingsHistory'
  'disputes'
  'customProperties'
  'personPhotos'
  'personHistory'
  'consentStates'
  'events'
  'eventDeliveries'
]

// Claim-check payloads (change chunks over the queue message limit) and the deployment package.
var blobContainerNames = [
  'change-chunks'
  'change-sets'
  'photos'
  deploymentContainerName
]

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: privateNetworkOnly ? 'Disabled' : 'Enabled'
    dnsEndpointType: 'Standard'
    networkAcls: {
      defaultAction: privateNetworkOnly ? 'Deny' : 'Allow'
      bypass: privateNetworkOnly ? 'None' : 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storageAccount
  name: 'default'
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for containerName in blobContainerNames: {
    parent: blobService
    name: containerName
    properties: {
      publicAccess: 'None'
    }
  }
]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storageAccount
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [
  for queueName in queueNames: {
    parent: queueService
    name: queueName
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storageAccount
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for tableName in tableNames: {
    parent: tableService
    name: tableName
  }
]

output name string = storageAccount.name
output id string = storageAccount.id
output blobEndpoint string = storageAccount.properties.primaryEndpoints.blob
output queueEndpoint string = storageAccount.properties.primaryEndpoints.queue
output tableEndpoint string = storageAccount.properties.primaryEndpoints.table
