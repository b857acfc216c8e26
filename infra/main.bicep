// Entra ID -> people directory sync on Azure Functions (Flex Consumption), deployed by `azd up`.
// Subscription scope: creates the resource group, then everything else inside it.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; seeds the unique suffix of every resource name.')
param environmentName string

@minLength(1)
@description('Region of all resources. It must offer Flex Consumption: az functionapp list-flexconsumption-locations.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of the deploying user (azd fills it with your sign-in). Granted roles only when allowUserIdentityPrincipal is true.')
param principalId string = ''

@description('Grant principalId the storage data roles that `func start` against the cloud storage needs. Off by default: people get no data access from a deployment.')
param allowUserIdentityPrincipal bool = false

@description('Principal type of principalId.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param principalType string = 'User'

@description('Private network: VNet integration of the app, private endpoints for storage (blob, queue, table) and Key Vault, public network access off on both.')
param vnetEnabled bool = false

@description('Single-tenant mode: grant the app\'s identity its Microsoft Graph application permissions (User.Read.All, GroupMember.Read.All) in this tenant. Needs a Privileged Role Administrator (or Global Administrator) to deploy.')
param grantGraphRoles bool = true

@description('With grantGraphRoles: also grant Mail.Send, for run notifications sent by mail.')
param grantGraphMailSend bool = false

@description('Multi-tenant mode: client id of the multi-tenant app registration tenants consent to (empty: off).')
param multiTenantClientId string = ''

@description('Multi-tenant mode: name of the Key Vault certificate (PEM) of that app registration.')
param multiTenantCertificateName string = ''

// Optional name overrides; empty means a generated name.
param resourceGroupName string = ''
param functionAppName string = ''
param appServicePlanName string = ''
param storageAccountName string = ''
param keyVaultName string = ''
param identityName string = ''
param logAnalyticsName string = ''
param applicationInsightsName string = ''
param vNetName string = ''

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var apiServiceName = 'api'
var resolvedFunctionAppName = !empty(functionAppName) ? functionAppName : '${abbrs.webSitesFunctions}${apiServiceName}-${resourceToken}'
var deploymentContainerName = toLower('app-package-${take(resolvedFunctionAppName, 32)}-${take(resourceToken, 7)}')

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity './app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: !empty(identityName) ? identityName : '${abbrs.managedIdentityUserAssignedIdentities}${apiServiceName}-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring './app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: !empty(logAnalyticsName) ? logAnalyticsName : '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: !empty(applicationInsightsName) ? applicationInsightsName : '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

module storage './app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: !empty(storageAccountName) ? storageAccountName : '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    privateNetworkOnly: vnetEnabled
  }
}

module keyVault './app/key-vault.bicep' = {
  name: 'keyVault'
  scope: rg
  params: {
    name: !empty(keyVaultName) ? keyVaultName : '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    privateNetworkOnly: vnetEnabled
  }
}

module privateNetwork './app/private-network.bicep' = if (vnetEnabled) {
  name: 'privateNetwork'
  scope: rg
  params: {
    name: !empty(vNetName) ? vNetName : '${abbrs.networkVirtualNetworks}${resourceToken}'
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
  }
}

module rbac './app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    managedIdentityPrincipalId: identity.outputs.principalId
    userPrincipalId: principalId
    userPrincipalType: principalType
    allowUserIdentityPrincipal: allowUserIdentityPrincipal
  }
}

module functionApp './app/function-app.bicep' = {
  name: 'functionApp'
  scope: rg
  // The app starts only once its identity may reach storage, Key Vault and Application Insights (and,
  // with vnetEnabled, once the private endpoints exist: the subnet output below waits for them).
  dependsOn: [
    rbac
  ]
  params: {
    name: resolvedFunctionAppName
    planName: !empty(appServicePlanName) ? appServicePlanName : '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    serviceName: apiServiceName
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    storageBlobEndpoint: storage.outputs.blobEndpoint
    storageQueueEndpoint: storage.outputs.queueEndpoint
    storageTableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerName: deploymentContainerName
    keyVaultUri: keyVault.outputs.uri
    virtualNetworkSubnetId: vnetEnabled ? privateNetwork!.outputs.appSubnetId : ''
    multiTenantClientId: multiTenantClientId
    multiTenantCertificateName: multiTenantCertificateName
  }
}

// Single-tenant mode: the identity's Graph app roles, so `azd up` needs no manual grant.
module graphGrants './app/graph-grants.bicep' = if (grantGraphRoles) {
  name: 'graphGrants'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    grantMailSend: grantGraphMailSend
  }
}

// App Service authentication: Entra ID sign-in with an app role on every route but the anonymous ones.
module auth './app/auth.bicep' = {
  name: 'auth'
  scope: rg
  params: {
    functionAppName: functionApp.outputs.name
    hostName: functionApp.outputs.defaultHostName
    applicationUniqueName: 'entra-people-sync-${resourceToken}'
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output SERVICE_API_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_URL string = 'https://${functionApp.outputs.defaultHostName}'
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_URI string = keyVault.outputs.uri
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_BLOB_ENDPOINT string = storage.outputs.blobEndpoint
output AZURE_STORAGE_QUEUE_ENDPOINT string = storage.outputs.queueEndpoint
output AZURE_STORAGE_TABLE_ENDPOINT string = storage.outputs.tableEndpoint
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output MANAGED_IDENTITY_NAME string = identity.outputs.name
output MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output MANAGED_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output AZURE_AUTH_CLIENT_ID string = auth.outputs.clientId
