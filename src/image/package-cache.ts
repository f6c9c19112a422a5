/**
 * A private view of the shared package download cache, for a build that runs beside others.
 * mkosi runs apt with `Debug::NoLocking=true` (and pacman's cache has no lock across processes), so
 * two builds downloading into one directory could interleave a file. Each concurrent build gets a
 * clone made of hard links (nothing copied; a package manager replaces files by rename, never in
 * place), and what it downloaded joins the shared cache afterwards, by link, only under names the
 * shared cache does not have yet: a name already there is the same package from the same mirror.
 */
import { copyFile, link, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { errorCode } from '../system/expected.js';

/** In-progress downloads and lock files: never shared. */
const PRIVATE_NAMES = new Set(['partial', 'lock']);
/** A copy on its way into the shared cache (see linkOrCopy): other builds leave it alone. */
const COPYING = '.boxes-copying';

/** Links `from`'s entries into `to`, recursively; `onlyNew`: leaves names `to` already has. */
async function linkTree(from: string, to: string, onlyNew: boolean): Promise<number> {
  let added = 0;
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    if (PRIVATE_NAMES.has(entry.name) || entry.name.endsWith(COPYING)) continue;
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) added += await linkTree(source, target, onlyNew);
    else if (entry.isFile()) added += (await linkOrCopy(source, target, onlyNew)) ? 1 : 0;
  }
  return added;
}

/** Whether it placed the file: false when `target` exists already and `onlyNew` says leave it. */
async function linkOrCopy(source: string, target: string, onlyNew: boolean): Promise<boolean> {
  const exists = (error: unknown) => {
    if (onlyNew && errorCode(error) === 'EEXIST') return false;
    throw error;
  };
  try {
    await link(source, target);
    return true;
  } catch (error) {
    // Another filesystem, or a file the kernel will not let this user link (protected_hardlinks).
    if (errorCode(error) !== 'EXDEV' && errorCode(error) !== 'EPERM') return exists(error);
  }
  // A copy appears under its name whole (by link), never half-written to a build cloning the cache.
  const copying = `${target}.${process.pid}${COPYING}`;
  await copyFile(source, copying);
  try {
    return await link(copying, target).then(() => true, exists);
  } finally {
    await rm(copying, { force: true });
  }
}

/** Fills the empty directory `clone` with links to every file of `shared` (which may not exist yet). */
export async function clonePackageCache(shared: string, clone: string): Promise<void> {
  await mkdir(shared, { recursive: true });
  await linkTree(shared, clone, false);
}

/** Adds the files `clone` gained to `shared`; returns how many. */
export async function mergePackageCache(clone: string, shared: string): Promise<number> {
  return linkTree(clone, shared, true);
}
