import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { expandMainGlob } from '../../../local/host/main-glob.js';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'main-glob-'));
  await mkdir(join(root, 'dist', 'functions', 'nested'), { recursive: true });
  for (const file of ['a.js', 'b.js', 'a.js.map', 'nested/c.js']) {
    await writeFile(join(root, 'dist', 'functions', file), '');
  }
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('expandMainGlob', () => {
  it('expands dir/*.js to the .js files of that folder only, sorted', async () => {
    expect(await expandMainGlob(root, 'dist/functions/*.js')).toEqual([
      join(root, 'dist/functions/a.js'),
      join(root, 'dist/functions/b.js'),
    ]);
  });

  it('expands ** to any depth', async () => {
    expect(await expandMainGlob(root, 'dist/**/*.js')).toEqual([
      join(root, 'dist/functions/a.js'),
      join(root, 'dist/functions/b.js'),
      join(root, 'dist/functions/nested/c.js'),
    ]);
  });

  it('accepts a plain path and a ./ prefix', async () => {
    expect(await expandMainGlob(root, './dist/functions/b.js')).toEqual([join(root, 'dist/functions/b.js')]);
  });

  it('returns nothing for a missing folder', async () => {
    expect(await expandMainGlob(root, 'missing/*.js')).toEqual([]);
  });
});
