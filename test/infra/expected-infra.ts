/**
 * What the deployment must consist of, shared by the tests that read the Bicep (bicep.test.ts) and the
 * ones that compile it (bicep-cli.test.ts).
 */
import { APP_IDENTITY_CLIENT_ID_SETTING } from '../../src/adapters/graph/graph-credential.js';
import { NODE_WORKER_ARGUMENTS_SETTING } from '../../src/config/node-worker.js';
import type { AppSettingsRule } from './app-settings-rule.js';

// Built-in Azure role definition ids (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles),
// including broad ones, so an assignment of any of them is named in a failure.
export const BUILT_IN_ROLES: Readonly<Record<string, string>> = {
  '8e3af657-a8ff-443c-a75c-2fe8c4bcb635': 'Owner',
  'b24988ac-6180-42a0-ab88-20f7382dd24c': 'Contributor',
  '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9': 'User Access Administrator',
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b': 'Storage Blob Data Owner',
  'ba92f5b4-2d11-453d-a403-e96b0029c9fe': 'Storage Blob Data Contributor',
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88': 'Storage Queue Data Contributor',
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3': 'Storage Table Data Contributor',
  '00482a5a-887f-4fb3-b363-3b7fe8e74483': 'Key Vault Administrator',
  'b86a8fe4-44ce-4948-aee5-eccb2c155cd7': 'Key Vault Secrets Officer',
  '4633458b-17de-408a-b874-0445c86b69e6': 'Key Vault Secrets User',
  'a4417e6f-fecd-4de8-b567-7b0420556985': 'Key Vault Certificates Officer',
  '3913510d-42f4-4e42-8a64-420c390055eb': 'Monitoring Metrics Publisher',
};

// Exactly what each principal may do, as "<scope resource type>: <role>". The app needs storage data
// access (host, triggers, tables, claim checks, deployment package), to read connection secrets, and to
// publish telemetry. The deployer, only when allowUserIdentityPrincipal is true, gets what `func start`
// against the cloud storage needs (the host's own storage roles), and nothing in Key Vault.
const STORAGE = 'Microsoft.Storage/storageAccounts';
export const EXPECTED_ROLE_ASSIGNMENTS: Readonly<Record<string, readonly string[]>> = {
  managedIdentityPrincipalId: [
    `${STORAGE}: Storage Blob Data Owner`,
    `${STORAGE}: Storage Queue Data Contributor`,
    `${STORAGE}: Storage Table Data Contributor`,
    // Writes and deletes the clientState of each change-notification subscription.
    'Microsoft.KeyVault/vaults: Key Vault Secrets Officer',
    'Microsoft.Insights/components: Monitoring Metrics Publisher',
  ],
  userPrincipalId: [
    `${STORAGE}: Storage Blob Data Owner`,
    `${STORAGE}: Storage Queue Data Contributor`,
    `${STORAGE}: Storage Table Data Contributor`,
  ],
};

// App settings read outside the app-settings schema, each with who reads it; and schema settings that a
// deployment leaves out on purpose. See test/infra/app-settings-rule.ts.
export const APP_SETTINGS_RULE: AppSettingsRule = {
  readOutsideSchema: {
    AzureWebJobsStorage__credential: 'the Functions host: identity-based AzureWebJobsStorage',
    APPLICATIONINSIGHTS_CONNECTION_STRING: 'the Functions host: where telemetry goes',
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'the Functions host: Entra-authenticated telemetry',
    [NODE_WORKER_ARGUMENTS_SETTING]: 'the Functions host: the arguments of the Node worker it starts',
    [APP_IDENTITY_CLIENT_ID_SETTING]:
      'src/adapters/graph/graph-credential.ts and key-vault-secret-store.ts: the app identity',
  },
  notDeployed: {
    AzureWebJobsStorage:
      'a connection string (Azurite); Azure uses the identity-based __*ServiceUri settings',
  },
};

// Every resource type the deployment creates (vnetEnabled adds the Microsoft.Network ones).
export const EXPECTED_RESOURCE_TYPES = [
  'Microsoft.Authorization/roleAssignments',
  // The Microsoft Graph extension: the API's app registration and service principal (auth.bicep), the
  // managed identity's Graph app roles (graph-grants.bicep).
  'Microsoft.Graph/appRoleAssignedTo',
  'Microsoft.Graph/applications',
  'Microsoft.Graph/servicePrincipals',
  'Microsoft.Insights/components',
  'Microsoft.KeyVault/vaults',
  'Microsoft.ManagedIdentity/userAssignedIdentities',
  'Microsoft.Network/privateDnsZones',
  'Microsoft.Network/privateDnsZones/virtualNetworkLinks',
  'Microsoft.Network/privateEndpoints',
  'Microsoft.Network/privateEndpoints/privateDnsZoneGroups',
  'Microsoft.Network/virtualNetworks',
  'Microsoft.OperationalInsights/workspaces',
  'Microsoft.Resources/resourceGroups',
  'Microsoft.Storage/storageAccounts',
  'Microsoft.Storage/storageAccounts/blobServices',
  'Microsoft.Storage/storageAccounts/blobServices/containers',
  'Microsoft.Storage/storageAccounts/queueServices',
  'Microsoft.Storage/storageAccounts/queueServices/queues',
  'Microsoft.Storage/storageAccounts/tableServices',
  'Microsoft.Storage/storageAccounts/tableServices/tables',
  'Microsoft.Web/serverfarms',
  'Microsoft.Web/sites',
  'Microsoft.Web/sites/basicPublishingCredentialsPolicies',
  'Microsoft.Web/sites/config',
];
