import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { z } from 'zod';

/** The parts of local.settings.json the host uses. */
export interface LocalSettings {
  readonly values: Readonly<Record<string, string>>;
  readonly localHttpPort: number | undefined;
  /** Which file the settings came from (undefined when neither file exists). */
  readonly source: string | undefined;
}

const settingValue = z.union([z.string(), z.number(), z.boolean()]).transform(String);

const localSettingsSchema = z.looseObject({
  IsEncrypted: z.boolean().optional(),
  Values: z.record(z.string(), settingValue).optional(),
  Host: z.looseObject({ LocalHttpPort: z.coerce.number().int().min(0).max(65_535).optional() }).optional(),
});

/** Reads `<root>/local.settings.json`, or `<root>/local.settings.sample.json` when the former is absent. */
export async function readLocalSettings(root: string): Promise<LocalSettings> {
  for (const file of ['local.settings.json', 'local.settings.sample.json']) {
    const path = join(root, file);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    const parsed = localSettingsSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(`${file} is invalid: ${z.prettifyError(parsed.error)}`);
    if (parsed.data.IsEncrypted === true)
      throw new Error(`${file} is encrypted; the local host reads plain values.`);
    return { values: parsed.data.Values ?? {}, localHttpPort: parsed.data.Host?.LocalHttpPort, source: path };
  }
  return { values: {}, localHttpPort: undefined, source: undefined };
}

/**
 * Publishes app settings as environment variables like `func start`: `overrides` (the caller's explicit
 * settings) always win; local.settings `Values` fill only variables not already set.
 */
export function applyAppSettings(
  values: Readonly<Record<string, string>>,
  overrides: Readonly<Record<string, string>>,
): void {
  for (const [name, value] of Object.entries(overrides)) process.env[name] = value;
  for (const [name, value] of Object.entries(values)) {
    if (process.env[name] === undefined) process.env[name] = value;
  }
}

/** Reads an app setting; throws an error naming the setting and its use when it is missing or empty. */
export function requireAppSetting(name: string, usedFor: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`App setting "${name}" (${usedFor}) is not set.`);
  return value;
}

/** Replaces `%NAME%` app-setting references in a binding property, as the Functions host does. */
export function resolveSettingReferences(text: string, usedFor: string): string {
  return text.replace(/%([^%]+)%/g, (_match, name: string) => requireAppSetting(name, usedFor));
}
