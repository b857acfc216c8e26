// Single-tenant mode: the Microsoft Graph application permissions of the app's user-assigned
// identity, granted by the deployment itself (the Microsoft Graph Bicep extension), so the identity
// signs in to Graph with no consent step, no secret and no manual grant after `azd up`. Assigning an
// app role is the admin consent: the deployer needs Privileged Role Administrator (or Global
// Administrator) in the tenant, see infra/README.md.
extension microsoftGraphV1

@description('Object id of the service principal of the user-assigned managed identity the app runs as.')
param principalId string

@description('Also grant Mail.Send, for run notifications sent by mail.')
param grantMailSend bool = false

// Microsoft Graph's application id, the same in every tenant.
var graphAppId = '00000003-0000-0000-c000-000000000000'

// Graph application permissions by app role id (https://learn.microsoft.com/graph/permissions-reference):
// the least the sync needs, Mail.Send only for mailed run notifications.
var userReadAll = 'df021288-bdef-4463-88db-98f22de89214'
var groupMemberReadAll = '98830695-27a2-44f7-8c18-0c3ebc9698f6'
var mailSend = 'b633e1c5-b582-4048-a93e-9f11b44c7e96'
var grantedAppRoles = concat([userReadAll, groupMemberReadAll], grantMailSend ? [mailSend] : [])

resource graph 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: graphAppId
}

resource graphAppRoles 'Microsoft.Graph/appRoleAssignedTo@v1.0' = [
  for appRoleId in grantedAppRoles: {
    principalId: principalId
    resourceId: graph.id
    appRoleId: appRoleId
  }
]

output appRoleIds array = grantedAppRoles
