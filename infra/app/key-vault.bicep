// Key Vault for the app's secrets: the Graph webhook clientState and, for a multi-tenant
// deployment, the app registration certificate (imported by an admin, see infra/README.md).
// Authorization is Azure RBAC only (no access policies); soft delete and purge protection are on.

@description('Name of the key vault (3-24 characters).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region of the key vault.')
param location string

@description('Tags applied to the key vault.')
param tags object = {}

@description('Name of the secret holding the Graph change-notification clientState.')
param clientStateItemName string

@secure()
@description('Value of the Graph change-notification clientState (at most 128 characters).')
@maxLength(128)
param webhookClientState string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource webhookClientStateSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: clientStateItemName
  properties: {
    value: webhookClientState
    contentType: 'text/plain'
  }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
output clientStateItemName string = webhookClientStateSecret.name
