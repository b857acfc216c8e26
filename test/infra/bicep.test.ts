import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { APP_IDENTITY_CLIENT_ID_SETTING } from '../../src/adapters/graph/graph-credential.js';
import { CONTAINERS, QUEUES, TABLES } from '../../src/adapters/storage/storage-names.js';
import { appSettingsSchema, readAppSettings } from '../../src/config/app-settings.js';
import { NODE_WORKER_ARGUMENTS, NODE_WORKER_ARGUMENTS_SETTING } from '../../src/config/node-worker.js';
import { appSettingsDrift } from './app-settings-rule.js';
import {
  arrayItems,
  type BicepFile,
  type BicepResource,
  loopSource,
  objectEntries,
  property,
  readBicepFile,
  stringLiteral,
} from './bicep-reader.js';
import {
  APP_SETTINGS_RULE,
  BUILT_IN_ROLES,
  EXPECTED_RESOURCE_TYPES,
  EXPECTED_ROLE_ASSIGNMENTS,
} from './expected-infra.js';
import { readSimpleYaml } from './simple-yaml.js';

// What the app needs from its storage account: the pipeline's own list, one place.
const APP_QUEUES = Object.values(QUEUES);
const APP_TABLES = Object.values(TABLES);
const APP_BLOB_CONTAINERS = Object.values(CONTAINERS);

// Microsoft Graph and its application permissions (app role ids), from
// https://learn.microsoft.com/graph/permissions-reference
const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';
const GRAPH_APP_ROLES = {
  'User.Read.All': 'df021288-bdef-4463-88db-98f22de89214',
  'GroupMember.Read.All': '98830695-27a2-44f7-8c18-0c3ebc9698f6',
  'Mail.Send': 'b633e1c5-b582-4048-a93e-9f11b44c7e96',
} as const;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const INFRA = join(ROOT, 'infra');
const MAIN = join(INFRA, 'main.bicep');

const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const API_VERSION = /^\d{4}-\d{2}-\d{2}(-preview)?$/;
const UPPER_SNAKE = /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/;
// Values that would put a credential into app settings.
const SECRET_LOOKING_VALUE =
  /AccountKey=|SharedAccessSignature|SharedAccessKey|[?&;]sig=|\blist[A-Z]\w*\(|\.list\w*\(/;
const SECRET_LOOKING_NAME = /client_?secret|password|pwd|account_?key|sas_?token|access_?key/i;
// Parameter names the Bicep linter rule secure-secrets-in-params treats as secrets.
const SECRET_PARAM_NAME = /password|pwd|secret|accountkey|acctkey/i;

function bicepFilesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return bicepFilesUnder(path);
    return entry.name.endsWith('.bicep') ? [path] : [];
  });
}

const FILES: ReadonlyMap<string, BicepFile> = new Map(
  bicepFilesUnder(INFRA).map((p) => [p, readBicepFile(p)]),
);

function file(relativePath: string): BicepFile {
  const found = FILES.get(join(INFRA, relativePath));
  if (!found) throw new Error(`infra/${relativePath} is missing`);
  return found;
}

function allResources(): { path: string; resource: BicepResource }[] {
  return [...FILES].flatMap(([path, f]) => f.resources.map((resource) => ({ path, resource })));
}

function declaredResources(type: string): { path: string; resource: BicepResource }[] {
  return allResources().filter(({ resource }) => resource.type === type && !resource.existing);
}

function single(type: string): { path: string; resource: BicepResource } {
  const found = declaredResources(type);
  expect(found, `exactly one ${type} is declared`).toHaveLength(1);
  return found[0]!;
}

/** Resolves an array variable to its string items, following identifiers that name string variables. */
function stringItemsOfVariable(f: BicepFile, name: string): (string | undefined)[] {
  const variable = f.variables.find((v) => v.name === name);
  if (!variable) throw new Error(`variable ${name} is not declared`);
  return arrayItems(variable.value).map((item) => {
    const literal = stringLiteral(item);
    if (literal !== undefined) return literal;
    const named = f.variables.find((v) => v.name === item);
    return named ? stringLiteral(named.value) : undefined;
  });
}

/** The names a looped child resource (queue, table, container) declares. */
function loopedNames(type: string): (string | undefined)[] {
  const { path, resource } = single(type);
  const loop = loopSource(resource);
  expect(loop, `${type} is declared by a loop over a variable`).toBeDefined();
  expect(property(resource.body, 'name')).toBe(loop!.item);
  return stringItemsOfVariable(FILES.get(path)!, loop!.source);
}

function modulesReachableFrom(entry: string, seen = new Set<string>()): Set<string> {
  seen.add(entry);
  for (const module of FILES.get(entry)?.modules ?? []) {
    const target = resolve(dirname(entry), module.path);
    if (!seen.has(target)) modulesReachableFrom(target, seen);
  }
  return seen;
}

/** The app settings the function app is deployed with: the keys of its `appsettings` config resource. */
function deployedAppSettings(): Map<string, string> {
  const settingsResource = declaredResources('Microsoft.Web/sites/config').find(
    ({ resource }) => property(resource.body, 'name') === "'appsettings'",
  );
  expect(settingsResource, 'a Microsoft.Web/sites/config named appsettings').toBeDefined();
  return objectEntries(property(settingsResource!.resource.body, 'properties') ?? '');
}

/** Each role assignment as "<principal expression>" -> "<scope resource type>: <role name>". */
function roleAssignmentsByPrincipal(): Map<string, string[]> {
  const byPrincipal = new Map<string, string[]>();
  for (const { path, resource } of declaredResources('Microsoft.Authorization/roleAssignments')) {
    const f = FILES.get(path)!;
    const principal = property(resource.body, 'properties', 'principalId') ?? '?';
    const scopeSymbol = property(resource.body, 'scope') ?? '?';
    const scopeType =
      f.resources.find((r) => r.symbol === scopeSymbol)?.type ?? `unknown scope ${scopeSymbol}`;
    const loop = loopSource(resource);
    const roleVariables = loop
      ? arrayItems(f.variables.find((v) => v.name === loop.source)?.value ?? '')
      : [/, (\w+)\)$/.exec(property(resource.body, 'properties', 'roleDefinitionId') ?? '')?.[1] ?? '?'];
    for (const variable of roleVariables) {
      const id = stringLiteral(f.variables.find((v) => v.name === variable)?.value ?? '') ?? variable;
      const granted = byPrincipal.get(principal) ?? [];
      granted.push(`${scopeType}: ${BUILT_IN_ROLES[id] ?? id}`);
      byPrincipal.set(principal, granted);
    }
  }
  return byPrincipal;
}

/**
 * A value the schema accepts for a Bicep setting: the literal itself, else the first of an https URL, a
 * GUID (a client id) and a name (a Key Vault secret name) that the setting's schema accepts.
 */
function sampleValue(name: string, bicepValue: string): string {
  const literal = stringLiteral(bicepValue);
  if (literal !== undefined) return literal;
  const field = (appSettingsSchema.shape as Record<string, z.ZodType>)[name];
  const samples = ['https://sample.example.test/', '00000000-0000-0000-0000-000000000000', 'sample-name'];
  return samples.find((sample) => field?.safeParse(sample).success) ?? samples[0]!;
}

describe('infra/main.bicep and its modules', () => {
  it('deploys at subscription scope and references only module files that exist', () => {
    expect(file('main.bicep').targetScope).toBe('subscription');
    const missing = [...FILES].flatMap(([path, f]) =>
      f.modules
        .map((m) => m.path)
        .filter((p) => p.startsWith('br/') || p.startsWith('ts/') || !existsSync(resolve(dirname(path), p)))
        .map((p) => `${relative(ROOT, path)} -> ${p}`),
    );
    expect(missing).toEqual([]);
  });

  it('uses every Bicep file under infra/ (no orphan module)', () => {
    const reachable = modulesReachableFrom(MAIN);
    const orphans = [...FILES.keys()].filter((p) => !reachable.has(p)).map((p) => relative(ROOT, p));
    expect(orphans).toEqual([]);
  });

  it('pins every resource to a dated API version (Microsoft Graph resources to v1.0, never beta)', () => {
    const resources = allResources();
    expect(resources.length).toBeGreaterThan(10);
    const undated = resources
      .filter(({ resource }) =>
        resource.type.startsWith('Microsoft.Graph/')
          ? resource.apiVersion !== 'v1.0'
          : !API_VERSION.test(resource.apiVersion),
      )
      .map(({ resource }) => `${resource.type}@${resource.apiVersion}`);
    expect(undated).toEqual([]);
  });

  it('declares UPPER_SNAKE_CASE outputs in main.bicep, including what azd env and the Graph grant need', () => {
    const names = file('main.bicep').outputs.map((o) => o.name);
    expect(names.filter((n) => !UPPER_SNAKE.test(n))).toEqual([]);
    expect(names).toEqual(
      expect.arrayContaining([
        'AZURE_FUNCTION_APP_NAME',
        'AZURE_KEY_VAULT_URI',
        'AZURE_STORAGE_ACCOUNT_NAME',
        'MANAGED_IDENTITY_PRINCIPAL_ID',
      ]),
    );
    const principal = file('main.bicep').outputs.find((o) => o.name === 'MANAGED_IDENTITY_PRINCIPAL_ID');
    expect(principal?.value).toBe('identity.outputs.principalId');
    expect(file('app/identity.bicep').outputs.find((o) => o.name === 'principalId')?.value).toBe(
      'identity.properties.principalId',
    );
  });

  it('marks secret-looking parameters @secure, gives secure parameters no default and never outputs them', () => {
    for (const [path, f] of FILES) {
      const secure = f.params.filter((p) => p.decorators.includes('@secure()'));
      const unsecured = f.params.filter((p) => SECRET_PARAM_NAME.test(p.name) && !secure.includes(p));
      expect(unsecured.map((p) => `${relative(ROOT, path)}: ${p.name}`)).toEqual([]);
      expect(secure.filter((p) => p.defaultValue !== undefined).map((p) => p.name)).toEqual([]);
      const leaking = f.outputs.filter((o) =>
        secure.some((p) => new RegExp(`\\b${p.name}\\b`).test(o.value)),
      );
      expect(leaking.map((o) => o.name)).toEqual([]);
    }
  });

  it('feeds every @secure module parameter from a @secure parameter of the caller', () => {
    const insecure: string[] = [];
    for (const [path, caller] of FILES) {
      for (const module of caller.modules) {
        const callee = FILES.get(resolve(dirname(path), module.path));
        const secureNames = callee?.params
          .filter((p) => p.decorators.includes('@secure()'))
          .map((p) => p.name);
        for (const [name, value] of objectEntries(property(module.body, 'params') ?? '')) {
          if (!secureNames?.includes(name)) continue;
          const source = caller.params.find((p) => p.name === value);
          if (!source?.decorators.includes('@secure()'))
            insecure.push(`${module.symbol}.${name} <- ${value}`);
        }
      }
    }
    expect(insecure).toEqual([]);
  });

  it('declares exactly the expected resource types, so an added resource is a decision, not an accident', () => {
    const types = new Set(
      allResources()
        .filter(({ resource }) => !resource.existing)
        .map(({ resource }) => resource.type),
    );
    expect([...types].sort()).toEqual([...EXPECTED_RESOURCE_TYPES].sort());
  });

  it('uses every parameter it declares (a parameter nobody reads is a setting nobody applies)', () => {
    const unused = [...FILES].flatMap(([path, f]) => {
      const text = readFileSync(path, 'utf8');
      return f.params
        .filter((p) => (text.match(new RegExp(`\\b${p.name}\\b`, 'g')) ?? []).length < 2)
        .map((p) => `${relative(ROOT, path)}: ${p.name}`);
    });
    expect(unused).toEqual([]);
  });

  it('calls no list* function anywhere (no keys or SAS pulled into the deployment)', () => {
    const calling = [...FILES.keys()].filter((p) =>
      /\blist[A-Z]\w*\(|\.list\w*\(/.test(readFileSync(p, 'utf8')),
    );
    expect(calling.map((p) => relative(ROOT, p))).toEqual([]);
  });
});

describe('storage', () => {
  it('allows Entra ID access only, TLS 1.2 and no public blob access', () => {
    const { resource } = single('Microsoft.Storage/storageAccounts');
    const props = objectEntries(property(resource.body, 'properties') ?? '');
    expect(props.get('allowSharedKeyAccess')).toBe('false');
    expect(props.get('minimumTlsVersion')).toBe("'TLS1_2'");
    expect(props.get('allowBlobPublicAccess')).toBe('false');
    expect(props.get('supportsHttpsTrafficOnly')).toBe('true');
  });

  it('declares exactly the queues the code defines (storage-names.ts QUEUES) and their -poison twins', () => {
    const declared = loopedNames('Microsoft.Storage/storageAccounts/queueServices/queues');
    const expected = APP_QUEUES.flatMap((q) => [q, `${q}-poison`]);
    expect([...declared].sort()).toEqual([...expected].sort());
  });

  it('declares exactly the tables the code defines (storage-names.ts TABLES)', () => {
    const declared = loopedNames('Microsoft.Storage/storageAccounts/tableServices/tables');
    expect([...declared].sort()).toEqual([...APP_TABLES].sort());
  });

  it('declares exactly the containers the code defines (CONTAINERS) plus the deployment package, all private', () => {
    const declared = loopedNames('Microsoft.Storage/storageAccounts/blobServices/containers');
    const storage = file('app/storage.bicep');
    expect(storage.variables.find((v) => v.name === 'blobContainerNames')?.value).toContain(
      'deploymentContainerName',
    );
    const named = declared.filter((name) => name !== undefined);
    expect(named.sort()).toEqual([...APP_BLOB_CONTAINERS].sort());
    expect(declared.filter((name) => name === undefined)).toHaveLength(1);
    const { resource } = single('Microsoft.Storage/storageAccounts/blobServices/containers');
    expect(property(resource.body, 'properties', 'publicAccess')).toBe("'None'");
  });

  it('keeps no Key Vault secret in the deployment (connection secrets are named in each connection)', () => {
    expect(declaredResources('Microsoft.KeyVault/vaults/secrets')).toEqual([]);
  });
});

describe('role assignments', () => {
  const assignments = () => declaredResources('Microsoft.Authorization/roleAssignments');

  it('names every assignment guid(scope, principal, role)', () => {
    expect(assignments().length).toBeGreaterThan(0);
    for (const { resource } of assignments()) {
      const name = property(resource.body, 'name') ?? '';
      expect(name, resource.symbol).toMatch(/^guid\(\s*\w+\.id\s*,\s*\w+\s*,\s*\w+\s*\)$/);
    }
  });

  it('keeps role definition ids in named variables, never as literals inside resources', () => {
    for (const { resource } of allResources()) {
      expect(GUID.test(resource.value), `${resource.symbol} holds a GUID literal`).toBe(false);
    }
    for (const { resource } of assignments()) {
      const roleDefinitionId = property(resource.body, 'properties', 'roleDefinitionId') ?? '';
      expect(roleDefinitionId).toMatch(
        /^subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions', \w+\)$/,
      );
    }
  });

  it('grants each principal exactly its expected roles, and no other principal any role', () => {
    const granted = roleAssignmentsByPrincipal();
    expect([...granted.keys()].sort()).toEqual(Object.keys(EXPECTED_ROLE_ASSIGNMENTS).sort());
    for (const [principal, expected] of Object.entries(EXPECTED_ROLE_ASSIGNMENTS)) {
      expect([...(granted.get(principal) ?? [])].sort(), principal).toEqual([...expected].sort());
    }
    const files = new Set(
      declaredResources('Microsoft.Authorization/roleAssignments').map(({ path }) => path),
    );
    expect([...files].map((p) => relative(INFRA, p))).toEqual(['app/rbac.bicep']);
  });

  it('grants the deployer roles only behind allowUserIdentityPrincipal, which defaults to false', () => {
    const rbac = file('app/rbac.bicep');
    expect(rbac.params.find((p) => p.name === 'allowUserIdentityPrincipal')?.defaultValue).toBe('false');
    expect(rbac.variables.find((v) => v.name === 'grantUser')?.value).toBe(
      'allowUserIdentityPrincipal && !empty(userPrincipalId)',
    );
    const userAssignments = declaredResources('Microsoft.Authorization/roleAssignments').filter(
      ({ resource }) => property(resource.body, 'properties', 'principalId') === 'userPrincipalId',
    );
    expect(userAssignments.length).toBeGreaterThan(0);
    for (const { resource } of userAssignments) expect(resource.value).toMatch(/\bif \(grantUser\)/);

    const main = file('main.bicep');
    expect(main.params.find((p) => p.name === 'allowUserIdentityPrincipal')?.defaultValue).toBe('false');
    const rbacModule = main.modules.find((m) => m.path === './app/rbac.bicep')!;
    expect(property(rbacModule.body, 'params', 'allowUserIdentityPrincipal')).toBe(
      'allowUserIdentityPrincipal',
    );
    const parameters = JSON.parse(readFileSync(join(INFRA, 'main.parameters.json'), 'utf8')) as {
      parameters: Record<string, { value: unknown }>;
    };
    expect(parameters.parameters['allowUserIdentityPrincipal']?.value).toBe(
      '${ALLOW_USER_IDENTITY_PRINCIPAL=false}',
    );
  });
});

describe('function app', () => {
  it('runs Node 22 on a Flex Consumption plan, deploying from a blob container with its managed identity', () => {
    const plan = single('Microsoft.Web/serverfarms').resource;
    expect(property(plan.body, 'sku', 'tier')).toBe("'FlexConsumption'");
    expect(property(plan.body, 'sku', 'name')).toBe("'FC1'");
    const site = single('Microsoft.Web/sites').resource;
    expect(property(site.body, 'kind')).toBe("'functionapp,linux'");
    expect(property(site.body, 'identity', 'type')).toBe("'UserAssigned'");
    const config = property(site.body, 'properties', 'functionAppConfig') ?? '';
    expect(property(config, 'runtime', 'name')).toBe("'node'");
    expect(property(config, 'runtime', 'version')).toBe("'22'");
    expect(property(config, 'deployment', 'storage', 'type')).toBe("'blobContainer'");
    expect(property(config, 'deployment', 'storage', 'authentication', 'type')).toBe(
      "'UserAssignedIdentity'",
    );
    expect(property(config, 'scaleAndConcurrency', 'maximumInstanceCount')).toBeDefined();
    expect(property(site.body, 'properties', 'httpsOnly')).toBe('true');
  });

  it('sets exactly the app settings the code reads: none unread, none missing, defaults may stay out', () => {
    const settings = deployedAppSettings();
    const drift = appSettingsDrift(appSettingsSchema.shape, settings.keys(), APP_SETTINGS_RULE);
    expect({ unexpected: drift.unexpected, missing: drift.missing }).toEqual({ unexpected: [], missing: [] });
  });

  it('gives the Node worker the heap budget the local host runs with', () => {
    const value = deployedAppSettings().get(NODE_WORKER_ARGUMENTS_SETTING);
    expect(stringLiteral(value ?? '')).toBe(NODE_WORKER_ARGUMENTS);
  });

  it('sets app settings the app starts with (readAppSettings accepts them)', () => {
    const env = Object.fromEntries(
      [...deployedAppSettings()].map(([key, value]) => [key, sampleValue(key, value)]),
    );
    expect(() => readAppSettings(env)).not.toThrow();
  });

  it('gives the app its user-assigned identity as AZURE_CLIENT_ID and as the storage identity', () => {
    const settings = deployedAppSettings();
    expect(settings.get(APP_IDENTITY_CLIENT_ID_SETTING)).toBe('identityClientId');
    expect(settings.get('AzureWebJobsStorage__clientId')).toBe('identityClientId');
    expect(settings.get('AzureWebJobsStorage__credential')).toBe("'managedidentity'");
  });

  it('turns off FTP and SCM basic publishing credentials', () => {
    const policies = declaredResources('Microsoft.Web/sites/basicPublishingCredentialsPolicies').map(
      ({ resource }) => ({
        name: stringLiteral(property(resource.body, 'name') ?? ''),
        parent: property(resource.body, 'parent'),
        allow: property(resource.body, 'properties', 'allow'),
      }),
    );
    expect(policies.sort((a, b) => String(a.name).localeCompare(String(b.name)))).toEqual([
      { name: 'ftp', parent: 'functionApp', allow: 'false' },
      { name: 'scm', parent: 'functionApp', allow: 'false' },
    ]);
  });

  it('passes app settings that hold names and URIs only, with identity-based storage', () => {
    const settings = deployedAppSettings();
    expect(settings.has('AzureWebJobsStorage'), 'no storage connection string').toBe(false);
    expect(settings.get('APPLICATIONINSIGHTS_AUTHENTICATION_STRING')).toMatch(
      /^'Authorization=AAD;ClientId=/,
    );
    const secretLooking = [...settings].filter(
      ([key, value]) => SECRET_LOOKING_VALUE.test(value) || SECRET_LOOKING_NAME.test(key),
    );
    expect(secretLooking).toEqual([]);
  });
});

describe('key vault and monitoring', () => {
  it('uses RBAC authorization with soft delete and purge protection, and an empty access policy list', () => {
    const { resource } = single('Microsoft.KeyVault/vaults');
    const props = objectEntries(property(resource.body, 'properties') ?? '');
    expect(props.get('enableRbacAuthorization')).toBe('true');
    expect(props.get('enableSoftDelete')).toBe('true');
    expect(props.get('enablePurgeProtection')).toBe('true');
    // The vault schema documents accessPolicies as required unless createMode is recover; RBAC ignores it.
    expect(props.get('accessPolicies')).toBe('[]');
  });

  it('disables local authentication on Application Insights', () => {
    const { resource } = single('Microsoft.Insights/components');
    expect(property(resource.body, 'properties', 'DisableLocalAuth')).toBe('true');
    expect(property(resource.body, 'properties', 'WorkspaceResourceId')).toBeDefined();
  });
});

describe('private network (vnetEnabled)', () => {
  const main = () => file('main.bicep');

  it('is off by default and, when on, deploys the network module and integrates the app in its subnet', () => {
    expect(main().params.find((p) => p.name === 'vnetEnabled')?.defaultValue).toBe('false');
    const network = main().modules.find((m) => m.path === './app/private-network.bicep');
    expect(network, 'main.bicep deploys app/private-network.bicep').toBeDefined();
    const networkDeclaration = readFileSync(MAIN, 'utf8');
    expect(networkDeclaration).toMatch(
      /module privateNetwork '\.\/app\/private-network\.bicep' = if \(vnetEnabled\)/,
    );
    const functionApp = main().modules.find((m) => m.path === './app/function-app.bicep')!;
    expect(property(functionApp.body, 'params', 'virtualNetworkSubnetId')).toBe(
      "vnetEnabled ? privateNetwork!.outputs.appSubnetId : ''",
    );
    const site = single('Microsoft.Web/sites').resource;
    expect(property(site.body, 'properties', 'virtualNetworkSubnetId')).toBe(
      'empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId',
    );
  });

  it('delegates the app subnet to Microsoft.App/environments (Flex Consumption VNet integration)', () => {
    const { resource } = single('Microsoft.Network/virtualNetworks');
    const subnets = arrayItems(property(resource.body, 'properties', 'subnets') ?? '');
    const delegations = subnets.map((subnet) =>
      arrayItems(property(subnet, 'properties', 'delegations') ?? '').map((d) =>
        property(d, 'properties', 'serviceName'),
      ),
    );
    expect(delegations.flat()).toEqual(["'Microsoft.App/environments'"]);
  });

  it('reaches blob, queue, table and the vault through private endpoints, each in its private DNS zone', () => {
    const network = file('app/private-network.bicep');
    const endpoints = arrayItems(network.variables.find((v) => v.name === 'endpoints')?.value ?? '');
    const groups = endpoints.map((e) => stringLiteral(property(e, 'groupId') ?? ''));
    expect(groups.sort()).toEqual(['blob', 'queue', 'table', 'vault']);
    for (const endpoint of endpoints) {
      const zone = property(endpoint, 'zone') ?? '';
      const resolved = network.variables.find((v) => v.name === zone)?.value ?? zone;
      expect(resolved, `${property(endpoint, 'groupId')} has a private DNS zone`).toMatch(/privatelink\./);
    }
    const dnsZones = single('Microsoft.Network/privateDnsZones').resource;
    expect(loopSource(dnsZones)).toEqual({ item: 'endpoint', source: 'endpoints' });
    expect(property(dnsZones.body, 'name')).toBe('endpoint.zone');
  });

  it('turns public network access off on storage and Key Vault when the private network is on', () => {
    for (const type of ['Microsoft.Storage/storageAccounts', 'Microsoft.KeyVault/vaults']) {
      const { resource } = single(type);
      expect(property(resource.body, 'properties', 'publicNetworkAccess'), type).toBe(
        "privateNetworkOnly ? 'Disabled' : 'Enabled'",
      );
      expect(property(resource.body, 'properties', 'networkAcls', 'defaultAction'), type).toBe(
        "privateNetworkOnly ? 'Deny' : 'Allow'",
      );
    }
    for (const module of ['./app/storage.bicep', './app/key-vault.bicep']) {
      const call = main().modules.find((m) => m.path === module)!;
      expect(property(call.body, 'params', 'privateNetworkOnly'), module).toBe('vnetEnabled');
    }
  });
});

describe('the app-settings rule', () => {
  const shape = appSettingsSchema.extend({
    SYNC_WATCHDOG_SECONDS: z.coerce.number().int().default(30),
    NEW_REQUIRED_SETTING: z.string(),
  }).shape;
  const deployed = [...deployedAppSettings().keys()];

  it('tolerates a setting with a default that the Bicep leaves out (its default applies)', () => {
    const drift = appSettingsDrift(shape, deployed, APP_SETTINGS_RULE);
    expect(drift.defaulted).toContain('SYNC_WATCHDOG_SECONDS');
    expect(drift.missing).not.toContain('SYNC_WATCHDOG_SECONDS');
  });

  it('reports a setting the code requires that the Bicep does not set', () => {
    expect(appSettingsDrift(shape, deployed, APP_SETTINGS_RULE).missing).toEqual(['NEW_REQUIRED_SETTING']);
  });

  it('reports a setting the Bicep sets that nobody reads, and one left out of deployments on purpose', () => {
    const drift = appSettingsDrift(
      shape,
      [...deployed, 'GRAPH_AUTH_MODE', 'AzureWebJobsStorage'],
      APP_SETTINGS_RULE,
    );
    expect(drift.unexpected).toEqual(['AzureWebJobsStorage', 'GRAPH_AUTH_MODE']);
  });
});

describe('Microsoft Graph: the single-tenant grant (graph-grants.bicep)', () => {
  const grants = () => file('app/graph-grants.bicep');
  const variable = (f: BicepFile, name: string) =>
    stringLiteral(f.variables.find((v) => v.name === name)?.value ?? '');

  it('declares the Microsoft Graph extension in bicepconfig.json and in every file with Graph resources', () => {
    const config = z
      .object({ extensions: z.record(z.string(), z.string()) })
      .loose()
      .parse(JSON.parse(readFileSync(join(ROOT, 'bicepconfig.json'), 'utf8')));
    expect(config.extensions['microsoftGraphV1']).toMatch(
      /^br:mcr\.microsoft\.com\/bicep\/extensions\/microsoftgraph\/v1\.0:\d+\.\d+\.\d+$/,
    );
    const withGraph = [...FILES].filter(([, f]) =>
      f.resources.some((r) => r.type.startsWith('Microsoft.Graph/')),
    );
    expect(withGraph.map(([path]) => relative(INFRA, path)).sort()).toEqual([
      'app/auth.bicep',
      'app/graph-grants.bicep',
    ]);
    for (const [path, f] of withGraph)
      expect(f.extensions, relative(INFRA, path)).toEqual(['microsoftGraphV1']);
  });

  it('looks Microsoft Graph up by its application id and grants User.Read.All and GroupMember.Read.All by their real app role ids', () => {
    const graph = grants().resources.find((r) => r.type === 'Microsoft.Graph/servicePrincipals');
    expect(graph?.existing).toBe(true);
    expect(property(graph!.body, 'appId')).toBe('graphAppId');
    expect(variable(grants(), 'graphAppId')).toBe(GRAPH_APP_ID);
    expect(variable(grants(), 'userReadAll')).toBe(GRAPH_APP_ROLES['User.Read.All']);
    expect(variable(grants(), 'groupMemberReadAll')).toBe(GRAPH_APP_ROLES['GroupMember.Read.All']);
    expect(variable(grants(), 'mailSend')).toBe(GRAPH_APP_ROLES['Mail.Send']);

    const { resource } = single('Microsoft.Graph/appRoleAssignedTo');
    expect(loopSource(resource)).toEqual({ item: 'appRoleId', source: 'grantedAppRoles' });
    expect(property(resource.body, 'appRoleId')).toBe('appRoleId');
    expect(property(resource.body, 'resourceId')).toBe(`${graph!.symbol}.id`);
    expect(property(resource.body, 'principalId')).toBe('principalId');
    // Least privilege: the two read permissions always, Mail.Send only when asked for.
    expect(grants().variables.find((v) => v.name === 'grantedAppRoles')?.value).toBe(
      'concat([userReadAll, groupMemberReadAll], grantMailSend ? [mailSend] : [])',
    );
    expect(grants().params.find((p) => p.name === 'grantMailSend')?.defaultValue).toBe('false');
  });

  it("grants them to the app's own user-assigned identity, by default (grantGraphRoles), so azd up needs no manual grant", () => {
    const main = file('main.bicep');
    const call = main.modules.find((m) => m.path === './app/graph-grants.bicep');
    expect(call, 'main.bicep deploys app/graph-grants.bicep').toBeDefined();
    expect(readFileSync(MAIN, 'utf8')).toMatch(
      /module graphGrants '\.\/app\/graph-grants\.bicep' = if \(grantGraphRoles\)/,
    );
    expect(property(call!.body, 'params', 'principalId')).toBe('identity.outputs.principalId');
    expect(property(call!.body, 'params', 'grantMailSend')).toBe('grantGraphMailSend');
    expect(main.params.find((p) => p.name === 'grantGraphRoles')?.defaultValue).toBe('true');
    expect(main.params.find((p) => p.name === 'grantGraphMailSend')?.defaultValue).toBe('false');
  });
});

describe('App Service authentication (auth.bicep)', () => {
  const auth = () => file('app/auth.bicep');
  const authSettings = () =>
    declaredResources('Microsoft.Web/sites/config').find(
      ({ resource }) => property(resource.body, 'name') === "'authsettingsV2'",
    );

  /** `/api/<route>` of every HTTP function registered with authLevel 'anonymous'. */
  function anonymousRoutes(): string[] {
    const dir = join(ROOT, 'functions');
    return readdirSync(dir)
      .filter((name) => name.endsWith('.ts'))
      .flatMap((name) => {
        const text = readFileSync(join(dir, name), 'utf8');
        return [...text.matchAll(/app\.http\(\s*'[^']+',\s*\{([\s\S]*?)\}\s*\)/g)]
          .map((m) => m[1]!)
          .filter((options) => /authLevel:\s*'anonymous'/.test(options))
          .map((options) => `/api/${/route:\s*'([^']+)'/.exec(options)?.[1] ?? '?'}`);
      });
  }

  it('requires an Entra ID sign-in on every route and answers 401 without one', () => {
    const settings = authSettings();
    expect(settings, 'a Microsoft.Web/sites/config named authsettingsV2').toBeDefined();
    const body = settings!.resource.body;
    expect(property(body, 'parent')).toBe('functionApp');
    expect(property(body, 'properties', 'platform', 'enabled')).toBe('true');
    expect(property(body, 'properties', 'globalValidation', 'requireAuthentication')).toBe('true');
    expect(property(body, 'properties', 'globalValidation', 'unauthenticatedClientAction')).toBe(
      "'Return401'",
    );
    expect(property(body, 'properties', 'httpSettings', 'requireHttps')).toBe('true');
    const entra = property(body, 'properties', 'identityProviders', 'azureActiveDirectory') ?? '';
    expect(property(entra, 'enabled')).toBe('true');
    expect(property(entra, 'registration', 'clientId')).toBe('apiApplication.appId');
    expect(property(entra, 'registration', 'openIdIssuer')).toBe(
      "'${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'",
    );
    expect(arrayItems(property(entra, 'validation', 'allowedAudiences') ?? '')).toEqual([
      'apiApplication.appId',
      "'api://${apiApplication.appId}'",
    ]);
  });

  it('leaves anonymous exactly the routes the app registers anonymous (webhook, health, consent callback)', () => {
    const excluded = auth().variables.find((v) => v.name === 'anonymousPaths');
    expect(property(authSettings()!.resource.body, 'properties', 'globalValidation', 'excludedPaths')).toBe(
      'anonymousPaths',
    );
    const paths = arrayItems(excluded?.value ?? '').map((item) => stringLiteral(item));
    // The lifecycle route sits under the webhook's: one wildcard covers it.
    const expected = anonymousRoutes().map((route) =>
      route === '/api/notifications/lifecycle' ? '/api/notifications/*' : route,
    );
    expect([...paths].sort()).toEqual([...new Set(expected)].sort());
    expect(paths).toEqual(
      expect.arrayContaining(['/api/health', '/api/notifications', '/api/connect/callback']),
    );
  });

  it("gives sign-in only to principals assigned an app role: Sync.Admin (admin routes) or Directory.Read (the app's routes)", () => {
    const application = single('Microsoft.Graph/applications').resource;
    const roles = arrayItems(property(application.body, 'appRoles') ?? '');
    expect(roles.map((role) => stringLiteral(property(role, 'value') ?? '')).sort()).toEqual([
      'Directory.Read',
      'Sync.Admin',
    ]);
    for (const role of roles) {
      expect(property(role, 'isEnabled')).toBe('true');
      expect(property(role, 'id')).toMatch(/^guid\(applicationUniqueName, '[\w.]+'\)$/);
    }
    expect(property(application.body, 'signInAudience')).toBe("'AzureADMyOrg'");
    const servicePrincipal = single('Microsoft.Graph/servicePrincipals').resource;
    expect(property(servicePrincipal.body, 'appId')).toBe('apiApplication.appId');
    expect(property(servicePrincipal.body, 'appRoleAssignmentRequired')).toBe('true');
  });

  it("tells the app to check the route's app role on the principal App Service passes on", () => {
    expect(deployedAppSettings().get('SYNC_HTTP_AUTH')).toBe("'app-service'");
    expect(readAppSettings({ AzureWebJobsStorage: 'UseDevelopmentStorage=true' }).SYNC_HTTP_AUTH).toBe(
      'function-keys',
    );
  });
});

describe('azd wiring', () => {
  const AzureYaml = z.object({
    name: z.string().min(1),
    services: z.record(
      z.string(),
      z.object({ project: z.string(), language: z.string(), host: z.string() }).loose(),
    ),
  });

  it('azure.yaml names the function service api (TypeScript, project root)', () => {
    const yaml = AzureYaml.parse(readSimpleYaml(readFileSync(join(ROOT, 'azure.yaml'), 'utf8')));
    expect(yaml.services['api']).toMatchObject({ project: '.', language: 'ts', host: 'function' });
    const site = single('Microsoft.Web/sites').resource;
    expect(property(site.body, 'tags')).toBe("union(tags, { 'azd-service-name': serviceName })");
    expect(file('app/function-app.bicep').params.find((p) => p.name === 'serviceName')?.defaultValue).toBe(
      "'api'",
    );
  });

  it('main.parameters.json supplies only parameters main.bicep declares, and every required one', () => {
    const Parameters = z.object({ parameters: z.record(z.string(), z.object({ value: z.unknown() })) });
    const supplied = Object.keys(
      Parameters.parse(JSON.parse(readFileSync(join(INFRA, 'main.parameters.json'), 'utf8'))).parameters,
    );
    const main = file('main.bicep');
    const declared = main.params.map((p) => p.name);
    expect(supplied.filter((name) => !declared.includes(name))).toEqual([]);
    const generatedByAzd = (decorators: readonly string[]) =>
      decorators.some((d) => /type: 'generate'/.test(d));
    const required = main.params.filter((p) => p.defaultValue === undefined && !generatedByAzd(p.decorators));
    expect(required.map((p) => p.name).filter((name) => !supplied.includes(name))).toEqual([]);
  });

  it('abbreviations.json defines every abbreviation main.bicep uses', () => {
    const abbreviations = z
      .record(z.string(), z.string())
      .parse(JSON.parse(readFileSync(join(INFRA, 'abbreviations.json'), 'utf8')));
    const used = [...readFileSync(MAIN, 'utf8').matchAll(/\babbrs\.(\w+)/g)].map((m) => m[1]!);
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((name) => !(name in abbreviations))).toEqual([]);
  });

  it('bicepconfig.json parses and enables the linter with the security rules as errors', () => {
    const BicepConfig = z.object({
      analyzers: z.object({
        core: z.object({
          enabled: z.literal(true),
          rules: z.record(z.string(), z.object({ level: z.enum(['off', 'info', 'warning', 'error']) })),
        }),
      }),
    });
    const config = BicepConfig.parse(JSON.parse(readFileSync(join(ROOT, 'bicepconfig.json'), 'utf8')));
    for (const rule of [
      'no-hardcoded-env-urls',
      'secure-secrets-in-params',
      'outputs-should-not-contain-secrets',
    ]) {
      expect(config.analyzers.core.rules[rule]?.level, rule).toBe('error');
    }
  });
});

describe('infra/README.md', () => {
  const readme = () => readFileSync(join(INFRA, 'README.md'), 'utf8');

  it('documents the post-deployment Graph grant with the Graph app id and each permission id', () => {
    const text = readme();
    expect(text).toContain(GRAPH_APP_ID);
    for (const [permission, id] of Object.entries(GRAPH_APP_ROLES)) {
      expect(text, permission).toContain(permission);
      expect(text, permission).toContain(id);
    }
    expect(text).toContain('appRoleAssignments');
    expect(text).toContain('MANAGED_IDENTITY_PRINCIPAL_ID');
    expect(text).toContain('learn.microsoft.com/graph/permissions-reference');
  });

  it('lists exactly the deployed app settings in its settings table', () => {
    const lines = readme().split('\n');
    const header = lines.findIndex((line) => /^\| Setting +\|/.test(line));
    expect(header, 'a table with a Setting column').toBeGreaterThan(-1);
    const end = lines.findIndex((line, i) => i > header && !line.startsWith('|'));
    const table = lines.slice(header + 2, end);
    const documented = table.map((line) => /^\| `([A-Za-z_]+)`/.exec(line)![1]!);
    expect(documented.sort()).toEqual([...deployedAppSettings().keys()].sort());
  });

  it('documents every azd environment value main.parameters.json reads, and no removed setting', () => {
    const text = readme();
    const parameters = readFileSync(join(INFRA, 'main.parameters.json'), 'utf8');
    const values = [...parameters.matchAll(/\$\{([A-Z_]+)/g)].map((m) => m[1]!);
    const optional = values.filter((v) => !['AZURE_ENV_NAME', 'AZURE_LOCATION'].includes(v));
    expect(optional.filter((v) => !text.includes(v))).toEqual([]);
    for (const removed of [
      'GRAPH_AUTH_MODE',
      'GRAPH_APP_CLIENT_ID',
      'GRAPH_CERTIFICATE_NAME',
      'WEBHOOK_CLIENT_STATE',
    ]) {
      expect(text, removed).not.toContain(removed);
    }
  });

  it('documents the PEM certificate policy and each lifecycle task', () => {
    const text = readme();
    expect(text).toContain('application/x-pem-file');
    for (const section of [
      '## Deploy with `azd up`',
      '### Single tenant',
      '### Multi-tenant',
      '## Rotate secrets',
      '## Remove everything',
      '## Permissions people need',
    ]) {
      expect(text, section).toContain(section);
    }
  });

  it('explains azd up and the Core Tools commands', () => {
    const text = readme();
    for (const command of ['azd up', 'func start', 'func azure functionapp publish']) {
      expect(text, command).toContain(command);
    }
  });
});
