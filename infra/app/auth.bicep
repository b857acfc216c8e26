// App Service authentication (Easy Auth) in front of the function app: every route needs an Entra ID
// sign-in (a token for the app registration below, whose service principal requires an app role
// assignment, so only people and apps given Sync.Admin or Directory.Read get one), except the routes
// Microsoft Graph and Entra call anonymously: the change-notification webhook, its lifecycle route,
// the consent callback, and the health probe. Which role a route needs (Sync.Admin for admin routes,
// Directory.Read for the app's routes) is checked by the app on the principal Easy Auth passes on
// (x-ms-client-principal; SYNC_HTTP_AUTH=app-service). Locally there is no Easy Auth: function keys.
extension microsoftGraphV1

@description('Name of the function app (already deployed).')
param functionAppName string

@description('Default host name of the function app.')
param hostName string

@description('Unique name of the app registration (Graph uniqueName, stable across deployments).')
param applicationUniqueName string

// Routes called without a sign-in, exactly the functions registered anonymous: Graph's webhook
// (checked by clientState), Entra's consent callback (checked by its signed state), the health probe,
// the OpenAPI document.
var anonymousPaths = [
  '/api/health'
  '/api/openapi.json'
  '/api/notifications'
  '/api/notifications/*'
  '/api/connect/callback'
]

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource apiApplication 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: applicationUniqueName
  displayName: 'Entra people sync (${functionAppName})'
  signInAudience: 'AzureADMyOrg'
  api: {
    requestedAccessTokenVersion: 2
  }
  appRoles: [
    {
      id: guid(applicationUniqueName, 'Sync.Admin')
      value: 'Sync.Admin'
      displayName: 'Sync administrator'
      description: 'Connect and disconnect tenants, change settings, request syncs, approve or reject held runs.'
      allowedMemberTypes: [
        'User'
        'Application'
      ]
      isEnabled: true
    }
    {
      id: guid(applicationUniqueName, 'Directory.Read')
      value: 'Directory.Read'
      displayName: 'Directory reader'
      description: 'Read the synced people, teams and the event feed (the consuming app).'
      allowedMemberTypes: [
        'User'
        'Application'
      ]
      isEnabled: true
    }
  ]
  web: {
    redirectUris: [
      'https://${hostName}/.auth/login/aad/callback'
    ]
    implicitGrantSettings: {
      enableIdTokenIssuance: true
    }
  }
}

// Only principals assigned one of the app roles get a token for the app at all.
resource apiServicePrincipal 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: apiApplication.appId
  appRoleAssignmentRequired: true
}

resource authSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
      excludedPaths: anonymousPaths
    }
    httpSettings: {
      requireHttps: true
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: apiApplication.appId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            apiApplication.appId
            'api://${apiApplication.appId}'
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
  }
}

output clientId string = apiApplication.appId
output servicePrincipalId string = apiServicePrincipal.id
