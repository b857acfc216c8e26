import type { z } from 'zod';

/**
 * The rule that keeps the deployed app settings equal to what the code reads.
 *
 * - Every setting of the app-settings schema is read by the code. A schema setting with a default may be
 *   absent from the Bicep (the default applies in Azure as it does locally); one without a default must be
 *   set, unless it is an alternative the deployment does not use (the Azurite connection string).
 * - A Bicep setting that is not in the schema must be one the platform or an identity library reads,
 *   each listed with who reads it. Anything else is provisioned for nobody.
 */
export interface AppSettingsRule {
  /** Settings read outside the schema: by the Functions host, the App Insights agent, @azure/identity. */
  readonly readOutsideSchema: Readonly<Record<string, string>>;
  /** Schema settings the deployment leaves out on purpose, each with why. */
  readonly notDeployed: Readonly<Record<string, string>>;
}

export interface AppSettingsDrift {
  /** Set in the Bicep, though read by nobody (or left out of deployments on purpose). */
  readonly unexpected: string[];
  /** Read by the code without a default (or by the platform), missing from the Bicep. */
  readonly missing: string[];
  /** Schema settings with a default that the Bicep leaves out: their default applies. */
  readonly defaulted: string[];
}

export type SettingKind = 'required' | 'optional' | 'default';

/** What the schema does with an absent setting: fail, leave it undefined, or apply a default. */
export function settingKinds(shape: Readonly<Record<string, z.ZodType>>): Map<string, SettingKind> {
  return new Map(
    Object.entries(shape).map(([name, field]) => {
      const absent = field.safeParse(undefined);
      const kind: SettingKind = !absent.success
        ? 'required'
        : absent.data === undefined
          ? 'optional'
          : 'default';
      return [name, kind];
    }),
  );
}

export function appSettingsDrift(
  shape: Readonly<Record<string, z.ZodType>>,
  deployed: Iterable<string>,
  rule: AppSettingsRule,
): AppSettingsDrift {
  const kinds = settingKinds(shape);
  const deployedSet = new Set(deployed);
  const unexpected = [...deployedSet].filter(
    (name) => (!kinds.has(name) && !(name in rule.readOutsideSchema)) || name in rule.notDeployed,
  );
  const needed = [
    ...Object.keys(rule.readOutsideSchema),
    ...[...kinds]
      .filter(([name, kind]) => kind !== 'default' && !(name in rule.notDeployed))
      .map(([name]) => name),
  ];
  const missing = needed.filter((name) => !deployedSet.has(name));
  const defaulted = [...kinds]
    .filter(([name, kind]) => kind === 'default' && !deployedSet.has(name))
    .map(([name]) => name);
  return { unexpected: unexpected.sort(), missing: missing.sort(), defaulted: defaulted.sort() };
}
