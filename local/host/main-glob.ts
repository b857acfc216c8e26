import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Turns one path segment with `*` / `?` wildcards into a regular expression. */
function segmentPattern(segment: string): RegExp {
  const source = segment
    .split('')
    .map((char) => {
      if (char === '*') return '[^/]*';
      if (char === '?') return '[^/]';
      return char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${source}$`);
}

async function listDirectory(dir: string): Promise<{ name: string; isDirectory: boolean }[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.map((entry) => ({ name: entry.name, isDirectory: entry.isDirectory() }));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

async function expand(dir: string, segments: readonly string[]): Promise<string[]> {
  const [head, ...rest] = segments;
  if (head === undefined) return [];
  if (head === '**') {
    const here = await expand(dir, rest);
    const entries = await listDirectory(dir);
    const deeper = await Promise.all(
      entries.filter((entry) => entry.isDirectory).map((entry) => expand(join(dir, entry.name), segments)),
    );
    return [...here, ...deeper.flat()];
  }
  const isLast = rest.length === 0;
  if (!/[*?]/.test(head)) {
    if (!isLast) return expand(join(dir, head), rest);
    const entries = await listDirectory(dir);
    return entries.some((entry) => entry.name === head && !entry.isDirectory) ? [join(dir, head)] : [];
  }
  const pattern = segmentPattern(head);
  const entries = (await listDirectory(dir)).filter((entry) => pattern.test(entry.name));
  if (isLast) return entries.filter((entry) => !entry.isDirectory).map((entry) => join(dir, entry.name));
  const nested = await Promise.all(
    entries.filter((entry) => entry.isDirectory).map((entry) => expand(join(dir, entry.name), rest)),
  );
  return nested.flat();
}

/**
 * Expands a package.json `main` glob (`dist/functions/*.js`, `dist/**\/*.js`, or a plain path) relative to
 * `root` into absolute file paths, sorted and without duplicates.
 */
export async function expandMainGlob(root: string, pattern: string): Promise<string[]> {
  const segments = pattern
    .replace(/\\/g, '/')
    .split('/')
    .filter((segment) => segment !== '' && segment !== '.');
  const files = await expand(root, segments);
  return [...new Set(files)].sort();
}
