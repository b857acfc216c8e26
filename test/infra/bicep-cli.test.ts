/**
 * Where the Bicep CLI exists (`bicep`, or `az bicep`), compile infra/main.bicep, run its linter with
 * bicepconfig.json (any error or warning fails), and check the compiled ARM template: the resource types,
 * the app settings and the runtime. Where it does not, these tests are skipped and say so.
 *
 *   bicep build infra/main.bicep --stdout        (or: az bicep build --file infra/main.bicep --stdout)
 *   bicep lint infra/main.bicep                  (or: az bicep lint --file infra/main.bicep)
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { appSettingsSchema } from '../../src/config/app-settings.js';
import { appSettingsDrift } from './app-settings-rule.js';
import { APP_SETTINGS_RULE, EXPECTED_RESOURCE_TYPES } from './expected-infra.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'infra', 'main.bicep');

interface BicepCli {
  readonly name: string;
  build(file: string): { status: number | null; stdout: string; stderr: string };
  lint(file: string): { status: number | null; stdout: string; stderr: string };
}

function run(command: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return {
    status: result.error ? null : result.status,
    stdout: result.stdout ?? '',
    stderr: result.stderr ?? '',
  };
}

function findBicepCli(): BicepCli | undefined {
  if (run('bicep', ['--version']).status === 0) {
    return {
      name: 'bicep',
      build: (file) => run('bicep', ['build', file, '--stdout']),
      lint: (file) => run('bicep', ['lint', file]),
    };
  }
  if (run('az', ['bicep', 'version']).status === 0) {
    return {
      name: 'az bicep',
      build: (file) => run('az', ['bicep', 'build', '--file', file, '--stdout']),
      lint: (file) => run('az', ['bicep', 'lint', '--file', file]),
    };
  }
  return undefined;
}

const cli = findBicepCli();
if (!cli) {
  console.warn(
    'infra: neither `bicep` nor `az bicep` is on PATH: compiling and linting infra/main.bicep was SKIPPED ' +
      '(the tests that read the Bicep still ran).',
  );
}

/** Bicep's diagnostics: `file(line,col) : Warning rule: message` and the like. */
function diagnostics(output: string): string[] {
  return output.split(/\r?\n/).filter((line) => /\) : (Warning|Error) /.test(line));
}

interface ArmResource {
  readonly type: string;
  readonly name?: string;
  readonly existing?: boolean;
  readonly properties?: Record<string, unknown> & { template?: ArmTemplate };
}
interface ArmTemplate {
  readonly resources: ArmResource[] | Record<string, ArmResource>;
}

/** Every resource of the template and of its nested module deployments (modules are inlined). */
function armResources(template: ArmTemplate): ArmResource[] {
  const resources = Array.isArray(template.resources)
    ? template.resources
    : Object.values(template.resources);
  return resources.flatMap((resource) =>
    resource.type === 'Microsoft.Resources/deployments' && resource.properties?.template
      ? armResources(resource.properties.template)
      : resource.existing
        ? []
        : [resource],
  );
}

const compiled = (() => {
  let template: ArmTemplate | undefined;
  return (): ArmTemplate => {
    if (!template) {
      const result = cli!.build(MAIN);
      expect(result.status, result.stderr).toBe(0);
      template = JSON.parse(result.stdout) as ArmTemplate;
    }
    return template;
  };
})();

describe(`infra/main.bicep compiled with ${cli?.name ?? 'the Bicep CLI (SKIPPED: not on PATH)'}`, () => {
  it.skipIf(!cli)('builds and lints with bicepconfig.json without an error or a warning', () => {
    const build = cli!.build(MAIN);
    expect(build.status, build.stderr).toBe(0);
    expect(diagnostics(build.stderr)).toEqual([]);
    const lint = cli!.lint(MAIN);
    expect(diagnostics(`${lint.stdout}\n${lint.stderr}`)).toEqual([]);
    expect(lint.status, lint.stderr).toBe(0);
  });

  it.skipIf(!cli)('compiles to exactly the expected resource types', () => {
    const types = new Set(armResources(compiled()).map((r) => r.type));
    expect([...types].sort()).toEqual([...EXPECTED_RESOURCE_TYPES].sort());
  });

  it.skipIf(!cli)('compiles to exactly the app settings the code reads', () => {
    const settings = armResources(compiled()).filter(
      (r) => r.type === 'Microsoft.Web/sites/config' && /appsettings/.test(r.name ?? ''),
    );
    expect(settings).toHaveLength(1);
    const drift = appSettingsDrift(
      appSettingsSchema.shape,
      Object.keys(settings[0]!.properties ?? {}),
      APP_SETTINGS_RULE,
    );
    expect({ unexpected: drift.unexpected, missing: drift.missing }).toEqual({ unexpected: [], missing: [] });
  });

  it.skipIf(!cli)('compiles the function app to Node 22 on Flex Consumption', () => {
    const site = armResources(compiled()).find((r) => r.type === 'Microsoft.Web/sites');
    expect(site?.properties?.['functionAppConfig']).toMatchObject({
      runtime: { name: 'node', version: '22' },
    });
  });
});
