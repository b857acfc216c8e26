// Key Vault for the connections' credentials: client secrets and, for a multi-tenant deployment, the
// app registration certificate (added by an admin, see infra/README.md); the deployment itself stores
// no secret. Authorization is Azure RBAC only; soft delete and purge protection are on.

@description('Name of the key vault (3-24 characters).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region of the key vault.')
param location string

@description('Tags applied to the key vault.')
param tags object = {}

@description('Private network only: public network access off (the app reaches the vault through its private endpoint).')
param privateNetworkOnly bool = false

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
    // Ignored with RBAC authorization, but documented as required unless createMode is recover.
    accessPolicies: []
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: privateNetworkOnly ? 'Disabled' : 'Enabled'
    networkAcls: {
      defaultAction: privateNetworkOnly ? 'Deny' : 'Allow'
      bypass: privateNetworkOnly ? 'None' : 'AzureServices'
    }
  }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
