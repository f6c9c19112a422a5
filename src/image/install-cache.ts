/**
 * The installed package set, cached by mkosi's Incremental= and shared by every target whose
 * installation has the same inputs. mkosi keys its cache by distribution, release and architecture
 * alone (and drops it when its manifest of packages and mirror differs), so two profiles with
 * different packages would keep evicting each other's cache, and a new snapshot or tools tree would
 * not evict it at all. boxes gives each set of inputs its own cache directory instead: the key is the
 * resolved configuration without what mkosi applies after its cache point, plus the content of the
 * trees copied in before it, the tools tree and mkosi's version. Every VM profile of a distribution
 * differs only after the cache point (per-profile packages are VolatilePackages=), so they share one.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, readlink, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';

/** Settings mkosi applies after it saved (or restored) the cached tree: they never reach the cache. */
export const AFTER_CACHE_POINT = [
  'VolatilePackages',
  'VolatilePackageDirectories',
  'ExtraTrees',
  'PostInstallationScripts',
  'FinalizeScripts',
  'PostOutputScripts',
  'RepartDirectories',
  'KernelCommandLine',
  'KernelModulesInitrdInclude',
  'KernelModulesInitrdExclude',
] as const;

/** Where this invocation writes, or what names it: not what is installed. */
const PER_INVOCATION = [
  'Files',
  'Profiles',
  'Output',
  'OutputDirectory',
  'CacheDirectory',
  'PackageCacheDirectory',
  'WorkspaceDirectory',
  'BuildDirectory',
  'ImageVersion',
  'Incremental',
  // Passed as its own fact: `summary` may see the unresolved `default`.
  'ToolsTree',
] as const;

/** Trees copied into the image or the sandbox before the cache point: their content counts, not their path. */
const TREES_BEFORE_CACHE_POINT = ['SkeletonTrees', 'PackageManagerTrees', 'SandboxTrees'] as const;

export interface InstallCacheFacts {
  treeDir: string;
  toolsTree: string;
  mkosiVersion: string;
  /** root, subordinate-ids or single-uid: the cached tree's ownership differs. */
  buildMode: string;
  /** What the archive publishes now (archive-state.ts): it changes under one URL or path. */
  archive?: string;
}

interface TreeRef {
  Source: string;
  Target?: string | null;
}

/** The cache key of one target's resolved image (`mkosi --json summary`). */
export async function installCacheKey(image: Record<string, unknown>, facts: InstallCacheFacts): Promise<string> {
  const kept: Record<string, unknown> = {};
  const dropped = new Set<string>([...AFTER_CACHE_POINT, ...PER_INVOCATION, ...TREES_BEFORE_CACHE_POINT]);
  // The environment reaches the installation only through prepare scripts (the tree has none today).
  const prepare = image.PrepareScripts;
  if (!Array.isArray(prepare) || prepare.length === 0) dropped.add('Environment');
  for (const key of Object.keys(image).sort()) if (!dropped.has(key)) kept[key] = image[key];
  const trees: Record<string, { target: string | null; digest: string }[]> = {};
  for (const key of TREES_BEFORE_CACHE_POINT) {
    const refs = (image[key] as TreeRef[] | null | undefined) ?? [];
    trees[key] = await Promise.all(refs.map(async (r) => ({ target: r.Target ?? null, digest: await treeDigest(r.Source) })));
  }
  const text = JSON.stringify({ image: kept, trees, toolsTree: facts.toolsTree, mkosi: facts.mkosiVersion, mode: facts.buildMode, archive: facts.archive ?? null });
  // The checkout's path is not an input: a copy of the tree elsewhere (boxes verify) has the same key.
  const normalized = text.split(facts.treeDir).join('@tree');
  return createHash('sha256').update(normalized).digest('hex').slice(0, 16);
}

/** A digest of a file or directory tree: names, types, modes, link targets and contents. */
export async function treeDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  async function walk(p: string, rel: string): Promise<void> {
    const st = await lstat(p);
    hash.update(`${rel}\0${st.mode}\0`);
    if (st.isSymbolicLink()) hash.update(`${await readlink(p)}\0`);
    else if (st.isFile()) hash.update(await readFile(p));
    else if (st.isDirectory()) for (const name of (await readdir(p)).sort()) await walk(join(p, name), `${rel}/${name}`);
  }
  if (existsSync(path)) await walk(path, '.');
  else hash.update('missing');
  return hash.digest('hex');
}

/**
 * Whether DIR already holds an installed package set mkosi will reuse: mkosi writes a cache's
 * manifest last, after moving its tree in, so a manifest beside its tree marks a finished cache.
 * The directory's key covers every input that manifest records, so mkosi only reads it then.
 */
export async function holdsInstalledSet(dir: string): Promise<boolean> {
  const names = await readdir(dir);
  return names.some((n) => n.endsWith('.manifest') && names.includes(`${n.slice(0, -'.manifest'.length)}.cache`));
}

/** Caches kept: about one per distribution and kind (VM, container, Arch multilib) in use. */
export const KEEP_INSTALL_CACHES = 8;

/**
 * The cache directory for one key, marked as used now; the least recently used beyond
 * KEEP_INSTALL_CACHES go, since a new SOURCE_DATE_EPOCH (a new day) makes a new key.
 */
export async function installCacheDir(root: string, key: string, remove: (dir: string) => Promise<void> = (d) => rm(d, { recursive: true, force: true })): Promise<string> {
  const dir = join(root, key);
  await mkdir(dir, { recursive: true });
  const now = new Date();
  await utimes(dir, now, now);
  const entries = await readdir(root, { withFileTypes: true });
  const caches = await Promise.all(
    entries.filter((e) => e.isDirectory() && /^[0-9a-f]{16}$/.test(e.name)).map(async (e) => ({ path: join(root, e.name), used: (await stat(join(root, e.name))).mtimeMs })),
  );
  caches.sort((a, b) => b.used - a.used);
  for (const old of caches.slice(KEEP_INSTALL_CACHES)) await remove(old.path);
  return dir;
}
