/**
 * `boxes clean`: removes boxes' caches. The installed package sets a rootless build caches belong to
 * the user's subordinate ids, which a plain `rm` cannot remove; removal goes through the same
 * mapping the build used.
 */
import { existsSync } from 'node:fs';
import { cachePaths } from '../system/paths.js';
import { detectBuildMode, removeTree } from '../rootless/namespace.js';

export interface CleanOptions {
  /** Also the package downloads, the tools trees, the apt sources and the pinned mkosi. */
  all: boolean;
  singleUid?: boolean;
  signal?: AbortSignal;
}

export async function clean(options: CleanOptions): Promise<string[]> {
  const cache = cachePaths();
  const mode = await detectBuildMode({ singleUid: Boolean(options.singleUid), signal: options.signal });
  const targets = [cache.mkosiCache, cache.workspace, ...(options.all ? [cache.packages, cache.tools, cache.sandbox, cache.mkosi] : [])];
  const removed: string[] = [];
  for (const dir of targets) {
    if (!existsSync(dir)) continue;
    await removeTree(dir, mode);
    removed.push(dir);
  }
  return removed;
}
