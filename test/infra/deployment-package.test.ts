/**
 * What a deployment uploads and runs on: the files `.funcignore` lets through (azd and Core Tools read it
 * with gitignore syntax), the Node versions package.json promises, and host.json's telemetry sampling.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { property, readBicepFile } from './bicep-reader.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The gitignore subset `.funcignore` uses: comments, `/`-anchored or unanchored names, a trailing `/` for
 * folders, `*` within one path segment. Negation and `**` are refused, so the test cannot misread them.
 */
function funcignoreMatcher(text: string): (path: string) => boolean {
  const rules = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'))
    .map((pattern) => {
      if (pattern.startsWith('!') || pattern.includes('**'))
        throw new Error(`unsupported pattern ${pattern}`);
      const folderOnly = pattern.endsWith('/');
      const body = pattern.replace(/^\//, '').replace(/\/$/, '');
      const anchored = pattern.startsWith('/') || body.includes('/');
      const segment = new RegExp(
        `^${body
          .split('/')
          .map((part) => part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*'))
          .join('/')}$`,
      );
      return { folderOnly, anchored, segment, depth: body.split('/').length };
    });
  return (path) => {
    const parts = path.split('/');
    return rules.some((rule) => {
      // Every ancestor folder (and, unless folder-only, the file itself) is a candidate.
      const candidates: { path: string; isFolder: boolean; start: number }[] = [];
      for (let end = 1; end <= parts.length; end += 1) {
        const isFolder = end < parts.length;
        for (let start = 0; start < end; start += 1) {
          if (rule.anchored && start > 0) break;
          if (end - start !== rule.depth) continue;
          candidates.push({ path: parts.slice(start, end).join('/'), isFolder, start });
        }
      }
      return candidates.some((c) => (c.isFolder || !rule.folderOnly) && rule.segment.test(c.path));
    });
  };
}

// Files a working copy has beside the committed ones: build output, dependencies, local state, azd's env.
const GENERATED = [
  'dist/functions/fetch.js',
  'dist/src/app-services.js',
  'dist/src/app-services.js.map',
  'node_modules/zod/package.json',
  'local.settings.json',
  '.azure/dev/.env',
  '.azure/dev/config.json',
  '__azurite_db_table__.json',
  'coverage/index.html',
  '.bench/run.json',
  '.local/ca/ca.pem',
  'azurite-debug.log',
];

function shippedFiles(): string[] {
  const ignored = funcignoreMatcher(readFileSync(join(ROOT, '.funcignore'), 'utf8'));
  const committed = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.length > 0);
  return [...committed, ...GENERATED].filter((path) => !ignored(path));
}

describe('.funcignore', () => {
  it('ships exactly what the remote build and the runtime need: sources, manifests, host.json', () => {
    const topLevel = new Set(shippedFiles().map((path) => path.split('/')[0]!));
    // azure.yaml has remoteBuild: true: the platform installs package.json's dependencies and compiles
    // functions/ and src/ with tsconfig.json, so those are uploaded and dist/ and node_modules/ are not.
    expect([...topLevel].sort()).toEqual(
      ['functions', 'host.json', 'package-lock.json', 'package.json', 'src', 'tsconfig.json'].sort(),
    );
  });

  it('keeps the benchmarks, the local host and stand-in, the tests, infra and local state out', () => {
    const shipped = shippedFiles();
    for (const prefix of ['bench/', 'local/', 'test/', 'infra/', 'dist/', 'node_modules/', '.azure/']) {
      expect(
        shipped.filter((path) => path.startsWith(prefix)),
        prefix,
      ).toEqual([]);
    }
    expect(shipped).not.toContain('local.settings.json');
    expect(shipped.filter((path) => path.endsWith('.md'))).toEqual([]);
  });

  it('ships every function and source file the build compiles', () => {
    const shipped = new Set(shippedFiles());
    const sources = execFileSync('git', ['ls-files', 'functions', 'src'], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .filter((path) => path.endsWith('.ts'));
    expect(sources.length).toBeGreaterThan(10);
    expect(sources.filter((path) => !shipped.has(path))).toEqual([]);
  });

  it('reads the gitignore subset as gitignore does (anchors, folders, globs)', () => {
    const ignored = funcignoreMatcher('/src/\n*.log\nlocal.settings.json\n/dist/\n');
    expect(ignored('src/app.ts')).toBe(true);
    expect(ignored('dist/src/app.js')).toBe(true);
    expect(ignored('functions/src/app.ts')).toBe(false);
    expect(ignored('a/b/debug.log')).toBe(true);
    expect(ignored('sub/local.settings.json')).toBe(true);
    expect(ignored('host.json')).toBe(false);
  });
});

/** `^a.b.c || ^x.y.z` ranges only: anything else is refused rather than misread. */
function satisfiesCaretRanges(version: string, range: string): boolean {
  const parse = (v: string): number[] => v.replace(/^v/, '').split('.').map(Number);
  const [major, minor, patch] = parse(version);
  return range.split('||').some((alternative) => {
    const caret = /^\^(\d+)\.(\d+)\.(\d+)$/.exec(alternative.trim());
    if (!caret) throw new Error(`unsupported engines range: ${alternative}`);
    const [, m, n, p] = caret.map(Number);
    if (major !== m) return false;
    return minor! > n! || (minor === n && patch! >= p!);
  });
}

describe('package.json engines', () => {
  const engines = (): string =>
    z
      .object({ engines: z.object({ node: z.string() }) })
      .parse(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))).engines.node;

  it('accepts the Node version these tests run on (20 on this machine)', () => {
    expect(satisfiesCaretRanges(process.version, engines())).toBe(true);
  });

  it('accepts the Node major the Bicep deploys on Flex Consumption (22), from 22.12', () => {
    const site = readBicepFile(join(ROOT, 'infra/app/function-app.bicep')).resources.find(
      (r) => r.type === 'Microsoft.Web/sites',
    )!;
    const runtime = property(site.body, 'properties', 'functionAppConfig', 'runtime', 'version') ?? '';
    const major = /^'(\d+)'$/.exec(runtime)?.[1];
    expect(major).toBe('22');
    expect(satisfiesCaretRanges(`${major}.12.0`, engines())).toBe(true);
    expect(satisfiesCaretRanges(`${major}.11.0`, engines())).toBe(false);
  });

  it('refuses Node versions that reached end of life or lack require(esm): 18, 20.18, 21, 23', () => {
    for (const version of ['18.20.0', '20.18.0', '21.7.0', '23.0.0']) {
      expect(satisfiesCaretRanges(version, engines()), version).toBe(false);
    }
  });
});

describe('host.json telemetry', () => {
  const HostJson = z.object({
    logging: z.object({
      applicationInsights: z.object({
        samplingSettings: z.object({ isEnabled: z.boolean(), excludedTypes: z.string() }),
      }),
    }),
  });

  it('samples Application Insights telemetry but never invocations (Request) or exceptions', () => {
    const host = HostJson.parse(JSON.parse(readFileSync(join(ROOT, 'host.json'), 'utf8')));
    const sampling = host.logging.applicationInsights.samplingSettings;
    expect(sampling.isEnabled).toBe(true);
    expect(sampling.excludedTypes.split(';').sort()).toEqual(['Exception', 'Request']);
  });
});
