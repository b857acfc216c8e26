import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { CONTAINERS, QUEUES, TABLES } from '../../src/adapters/storage/storage-names.js';
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
import { readSimpleYaml } from './simple-yaml.js';

// What the app needs from its storage account: the pipeline's own list, one place.
const APP_QUEUES = Object.values(QUEUES);
const APP_TABLES = Object.values(TABLES);
const APP_BLOB_CONTAINERS = Object.values(CONTAINERS);

// Built-in Azure role definition ids the managed identity must hold.
const REQUIRED_APP_ROLES = {
  'Storage Blob Data Owner': 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  'Storage Queue Data Contributor': '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
  'Storage Table Data Contributor': '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  'Key Vault Secrets User': '4633458b-17de-408a-b874-0445c86b69e6',
  'Monitoring Metrics Publisher': '3913510d-42f4-4e42-8a64-420c390055eb',
} as const;

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

  it('pins every resource to a dated API version', () => {
    const resources = allResources();
    expect(resources.length).toBeGreaterThan(10);
    const undated = resources
      .filter(({ resource }) => !API_VERSION.test(resource.apiVersion))
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
    expect(
      file('main.bicep').modules.some((m) => /webhookClientState: webhookClientState/.test(m.body)),
    ).toBe(true);
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

  it('declares every queue the app uses and its -poison twin', () => {
    const declared = loopedNames('Microsoft.Storage/storageAccounts/queueServices/queues');
    const expected = APP_QUEUES.flatMap((q) => [q, `${q}-poison`]);
    expect(declared).toEqual(expect.arrayContaining(expected));
  });

  it('declares every table the app uses', () => {
    const declared = loopedNames('Microsoft.Storage/storageAccounts/tableServices/tables');
    expect(declared).toEqual(expect.arrayContaining([...APP_TABLES]));
  });

  it('declares the claim-check container and the deployment package container, both private', () => {
    const declared = loopedNames('Microsoft.Storage/storageAccounts/blobServices/containers');
    expect(declared).toEqual(expect.arrayContaining([...APP_BLOB_CONTAINERS]));
    const { resource } = single('Microsoft.Storage/storageAccounts/blobServices/containers');
    expect(property(resource.body, 'properties', 'publicAccess')).toBe("'None'");
    const storage = file('app/storage.bicep');
    expect(storage.variables.find((v) => v.name === 'blobContainerNames')?.value).toContain(
      'deploymentContainerName',
    );
  });
});

describe('role assignments', () => {
  const assignments = () => declaredResources('Microsoft.Authorization/roleAssignments');

  it('names every assignment guid(scope, principal, role)', () => {
    expect(assignments().length).toBeGreaterThanOrEqual(5);
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

  it('grants the managed identity the storage, Key Vault and monitoring roles it needs', () => {
    const rbac = file('app/rbac.bicep');
    const roleVariables = new Map(rbac.variables.map((v) => [stringLiteral(v.value), v.name]));
    const appAssignments = assignments().filter(
      ({ resource }) => property(resource.body, 'properties', 'principalId') === 'managedIdentityPrincipalId',
    );
    const grantedVariables = new Set(
      appAssignments.flatMap(({ resource }) => {
        const loop = loopSource(resource);
        return loop ? arrayItems(rbac.variables.find((v) => v.name === loop.source)!.value) : [];
      }),
    );
    for (const { resource } of appAssignments) {
      const role = /, (\w+)\)$/.exec(property(resource.body, 'properties', 'roleDefinitionId') ?? '')?.[1];
      if (role && !loopSource(resource)) grantedVariables.add(role);
    }
    for (const [roleName, roleId] of Object.entries(REQUIRED_APP_ROLES)) {
      const variable = roleVariables.get(roleId);
      expect(variable, `a variable holds the ${roleName} id`).toBeDefined();
      expect(grantedVariables.has(variable!), `${roleName} is granted to the managed identity`).toBe(true);
    }
  });

  it('grants the deploying user data roles only when a principalId is given', () => {
    const rbac = file('app/rbac.bicep');
    expect(rbac.params.find((p) => p.name === 'userPrincipalId')?.defaultValue).toBe("''");
    const userAssignments = assignments().filter(
      ({ resource }) => property(resource.body, 'properties', 'principalId') === 'userPrincipalId',
    );
    expect(userAssignments.length).toBeGreaterThan(0);
    for (const { resource } of userAssignments) expect(resource.value).toMatch(/\bif \(grantUser\)/);
  });
});

describe('function app', () => {
  it('runs Node 20 on a Flex Consumption plan, deploying from a blob container with its managed identity', () => {
    const plan = single('Microsoft.Web/serverfarms').resource;
    expect(property(plan.body, 'sku', 'tier')).toBe("'FlexConsumption'");
    expect(property(plan.body, 'sku', 'name')).toBe("'FC1'");
    const site = single('Microsoft.Web/sites').resource;
    expect(property(site.body, 'kind')).toBe("'functionapp,linux'");
    expect(property(site.body, 'identity', 'type')).toBe("'UserAssigned'");
    const config = property(site.body, 'properties', 'functionAppConfig') ?? '';
    expect(property(config, 'runtime', 'name')).toBe("'node'");
    expect(property(config, 'runtime', 'version')).toBe("'20'");
    expect(property(config, 'deployment', 'storage', 'type')).toBe("'blobContainer'");
    expect(property(config, 'deployment', 'storage', 'authentication', 'type')).toBe(
      "'UserAssignedIdentity'",
    );
    expect(property(config, 'scaleAndConcurrency', 'maximumInstanceCount')).toBeDefined();
    expect(property(site.body, 'properties', 'httpsOnly')).toBe('true');
  });

  it('passes app settings that hold names and URIs only, with identity-based storage', () => {
    const settingsResource = declaredResources('Microsoft.Web/sites/config').find(
      ({ resource }) => property(resource.body, 'name') === "'appsettings'",
    );
    expect(settingsResource).toBeDefined();
    const settings = objectEntries(property(settingsResource!.resource.body, 'properties') ?? '');
    expect(settings.get('AzureWebJobsStorage__credential')).toBe("'managedidentity'");
    for (const key of [
      'AzureWebJobsStorage__clientId',
      'AzureWebJobsStorage__blobServiceUri',
      'AzureWebJobsStorage__queueServiceUri',
      'AzureWebJobsStorage__tableServiceUri',
      'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
      'AZURE_CLIENT_ID',
      'KEY_VAULT_URI',
    ]) {
      expect(settings.has(key), key).toBe(true);
    }
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
  it('uses RBAC authorization with soft delete and purge protection, and no access policies', () => {
    const { resource } = single('Microsoft.KeyVault/vaults');
    const props = objectEntries(property(resource.body, 'properties') ?? '');
    expect(props.get('enableRbacAuthorization')).toBe('true');
    expect(props.get('enableSoftDelete')).toBe('true');
    expect(props.get('enablePurgeProtection')).toBe('true');
    expect(props.has('accessPolicies')).toBe(false);
  });

  it('stores the webhook clientState from a @secure parameter', () => {
    const { resource } = single('Microsoft.KeyVault/vaults/secrets');
    const value = property(resource.body, 'properties', 'value');
    const param = file('app/key-vault.bicep').params.find((p) => p.name === value);
    expect(param?.decorators).toContain('@secure()');
  });

  it('disables local authentication on Application Insights', () => {
    const { resource } = single('Microsoft.Insights/components');
    expect(property(resource.body, 'properties', 'DisableLocalAuth')).toBe('true');
    expect(property(resource.body, 'properties', 'WorkspaceResourceId')).toBeDefined();
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

  it('explains azd up and the Core Tools commands', () => {
    const text = readme();
    for (const command of ['azd up', 'func start', 'func azure functionapp publish']) {
      expect(text, command).toContain(command);
    }
  });
});
