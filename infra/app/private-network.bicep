// The optional private network (main.bicep vnetEnabled): a virtual network with a subnet delegated to
// Microsoft.App/environments for the Flex Consumption app's VNet integration, a subnet for private
// endpoints, and one private endpoint (with its private DNS zone linked to the network) for each of
// storage blob, queue and table and the key vault. storage.bicep and key-vault.bicep turn their public
// network access off in the same deployment. Microsoft Graph and Entra are public services: the app
// subnet keeps Azure's default outbound access to reach them (attach a NAT gateway for a fixed egress IP).

@description('Name of the virtual network.')
param name string

@description('Azure region of the network and the private endpoints.')
param location string

@description('Tags applied to the network resources.')
param tags object = {}

@description('Name of the storage account reached through private endpoints.')
param storageAccountName string

@description('Name of the key vault reached through a private endpoint.')
param keyVaultName string

@description('Address space of the virtual network.')
param addressPrefix string = '10.0.0.0/16'

@description('Subnet of the app\'s VNet integration (delegated to Microsoft.App/environments).')
param appSubnetPrefix string = '10.0.1.0/24'

@description('Subnet of the private endpoints.')
param privateEndpointSubnetPrefix string = '10.0.2.0/24'

var appSubnetName = 'app'
var privateEndpointSubnetName = 'private-endpoints'

// Private DNS zones of each cloud, derived from its DNS suffixes (privatelink.blob.core.windows.net and
// privatelink.vaultcore.azure.net in the global cloud).
var storageSuffix = environment().suffixes.storage
var vaultZone = replace(environment().suffixes.keyvaultDns, '.vault.', 'privatelink.vaultcore.')

var endpoints = [
  { groupId: 'blob', service: 'storage', zone: 'privatelink.blob.${storageSuffix}' }
  { groupId: 'queue', service: 'storage', zone: 'privatelink.queue.${storageSuffix}' }
  { groupId: 'table', service: 'storage', zone: 'privatelink.table.${storageSuffix}' }
  { groupId: 'vault', service: 'keyVault', zone: vaultZone }
]

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource network 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        name: appSubnetName
        properties: {
          addressPrefix: appSubnetPrefix
          defaultOutboundAccess: true
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: privateEndpointSubnetName
        properties: {
          addressPrefix: privateEndpointSubnetPrefix
          defaultOutboundAccess: false
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

resource appSubnet 'Microsoft.Network/virtualNetworks/subnets@2024-05-01' existing = {
  parent: network
  name: appSubnetName
}

resource privateEndpointSubnet 'Microsoft.Network/virtualNetworks/subnets@2024-05-01' existing = {
  parent: network
  name: privateEndpointSubnetName
}

resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' = [
  for endpoint in endpoints: {
    name: endpoint.zone
    location: 'global'
    tags: tags
  }
]

resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [
  for (endpoint, i) in endpoints: {
    parent: zones[i]
    name: '${name}-link'
    location: 'global'
    tags: tags
    properties: {
      registrationEnabled: false
      virtualNetwork: {
        id: network.id
      }
    }
  }
]

resource privateEndpoints 'Microsoft.Network/privateEndpoints@2024-05-01' = [
  for endpoint in endpoints: {
    name: 'pe-${endpoint.service == 'storage' ? storageAccount.name : keyVault.name}-${endpoint.groupId}'
    location: location
    tags: tags
    properties: {
      subnet: {
        id: privateEndpointSubnet.id
      }
      privateLinkServiceConnections: [
        {
          name: endpoint.groupId
          properties: {
            privateLinkServiceId: endpoint.service == 'storage' ? storageAccount.id : keyVault.id
            groupIds: [
              endpoint.groupId
            ]
          }
        }
      ]
    }
  }
]

resource zoneGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = [
  for (endpoint, i) in endpoints: {
    parent: privateEndpoints[i]
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [
        {
          name: endpoint.groupId
          properties: {
            privateDnsZoneId: zones[i].id
          }
        }
      ]
    }
  }
]

output name string = network.name
output appSubnetId string = appSubnet.id
