/** Where boxes keeps its config tree and its per-user caches. */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** The mkosi tree ships with the package: this file sits in dist/system/ (src/system/) below it. */
export const TREE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BOXES_CACHE_DIR) return resolve(env.BOXES_CACHE_DIR);
  const base = env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), '.cache');
  return join(base, 'boxes');
}

export const cachePaths = (root = cacheRoot()) => ({
  root,
  mkosi: join(root, 'mkosi'),
  tools: join(root, 'tools'),
  sandbox: join(root, 'sandbox'),
  mkosiCache: join(root, 'mkosi-cache'),
  packages: join(root, 'packages'),
  workspace: join(root, 'workspace'),
});

let version: string | undefined;
const packageVersion = (text: string) => z.object({ version: z.string() }).parse(JSON.parse(text)).version;
/** boxes' own version, from the package.json that ships next to the tree. */
export async function boxesVersion(): Promise<string> {
  version ??= packageVersion(await readFile(join(TREE_DIR, 'package.json'), 'utf8'));
  return version;
}

/** The same, for `boxes --version`, which commander needs before anything runs. */
export function boxesVersionSync(): string {
  version ??= packageVersion(readFileSync(join(TREE_DIR, 'package.json'), 'utf8'));
  return version;
}
