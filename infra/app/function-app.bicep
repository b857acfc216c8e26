// The Flex Consumption plan and the function app (Node 22 on Linux). The app runs as the
// user-assigned managed identity: storage, Key Vault and Application Insights are reached with
// Entra ID tokens, so no app setting below holds a key, a SAS or a password.

@description('Name of the function app.')
param name string

@description('Name of the Flex Consumption plan.')
param planName string

@description('Azure region of the plan and the app.')
param location string

@description('Tags applied to the plan and the app.')
param tags object = {}

@description('azd service name the app is tagged with (matches azure.yaml).')
param serviceName string = 'api'

@description('Resource id of the user-assigned managed identity the app runs as.')
param identityId string

@description('Client id of the user-assigned managed identity the app runs as.')
param identityClientId string

@description('Name of the Application Insights component the app reports to.')
param applicationInsightsName string

@description('Blob service endpoint of the app\'s storage account.')
param storageBlobEndpoint string

@description('Queue service endpoint of the app\'s storage account.')
param storageQueueEndpoint string

@description('Table service endpoint of the app\'s storage account.')
param storageTableEndpoint string

@description('Blob container that holds the deployment package.')
param deploymentContainerName string

@description('URI of the key vault the app reads its secrets from.')
param keyVaultUri string

@description('Subnet (delegated to Microsoft.App/environments) the app is integrated in; empty for none.')
param virtualNetworkSubnetId string = ''

@description('Multi-tenant mode: client id of the multi-tenant app registration (empty: off).')
param multiTenantClientId string = ''

@description('Multi-tenant mode: name of the Key Vault certificate (PEM) of that app registration.')
param multiTenantCertificateName string = ''

@description('Memory of each instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Upper bound on the number of instances the app scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

// Names and URIs only, and exactly what the code and the platform read (test/infra/bicep.test.ts
// derives the set from src/config/app-settings.ts; settings with a default there may stay out).
// APPLICATIONINSIGHTS_CONNECTION_STRING is not a credential here: the component has local
// authentication disabled and accepts telemetry only with the Entra token described by
// APPLICATIONINSIGHTS_AUTHENTICATION_STRING. AZURE_CLIENT_ID names the identity the app signs in as
// (Key Vault, and Graph for managed-identity connections).
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: {
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    AzureWebJobsStorage__blobServiceUri: storageBlobEndpoint
    AzureWebJobsStorage__queueServiceUri: storageQueueEndpoint
    AzureWebJobsStorage__tableServiceUri: storageTableEndpoint
    APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identityClientId}'
    AZURE_CLIENT_ID: identityClientId
    KEY_VAULT_URI: keyVaultUri
    // Where Graph delivers change notifications (the webhook function; anonymous, checked by clientState).
    SYNC_NOTIFICATION_URL: 'https://${functionApp.properties.defaultHostName}/api/notifications'
    // The consent flow's redirect URI is <this>/api/connect/callback (register it on the multi-tenant app).
    SYNC_PUBLIC_BASE_URL: 'https://${functionApp.properties.defaultHostName}'
    SYNC_MULTITENANT_CLIENT_ID: multiTenantClientId
    SYNC_MULTITENANT_CERTIFICATE_NAME: multiTenantCertificateName
    // Routes check the app role of the principal App Service authentication passes on (auth.bicep).
    SYNC_HTTP_AUTH: 'app-service'
    // The Node worker's heap budget (src/config/node-worker.ts: the local host runs with the same).
    languageWorkers__node__arguments: '--max-old-space-size=384 --max-semi-space-size=32'
  }
}

// No publishing with user name and password: azd and Core Tools deploy with Entra tokens.
resource ftpPublishingCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishingCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
