/**
 * The pinned tools tree (mkosi's default tools tree for a fixed distribution and release), built
 * once per user and reused: compressors, mkfs, package managers and qemu come from it, not the host.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { MKOSI_UMASK, type Mkosi } from '../adapters/mkosi.js';
import { cachePaths } from '../system/paths.js';
import { run } from '../system/runner.js';
import type { BuildMode } from '../rootless/build-mode.js';
import { removeTree } from '../rootless/namespace.js';
import { aptSources, writeSandboxTree } from './sources.js';

export interface ToolsTreeSpec {
  distribution: string;
  release: string;
  mirror?: string;
  /** ToolsTreePackages=: extra packages on top of mkosi's default tools tree. */
  packages?: string[];
}

export function toolsTreeKey(spec: ToolsTreeSpec, mkosiVersion: string): string {
  const sources = spec.distribution === 'debian' ? aptSources({ release: spec.release, mirror: spec.mirror }) : (spec.mirror ?? '');
  const packages = [...(spec.packages ?? [])].sort().join(' ');
  const hash = createHash('sha256').update(`${mkosiVersion}\n${sources}\n${packages}`).digest('hex').slice(0, 12);
  return `${spec.distribution}-${spec.release}-${hash}`;
}

export function toolsTreeArgs(spec: ToolsTreeSpec, outputDir: string, sandboxTree?: string): string[] {
  const paths = cachePaths();
  return [
    '--directory',
    '',
    '--include=mkosi-tools',
    '--distribution',
    spec.distribution,
    '--release',
    spec.release,
    ...(spec.mirror ? [`--mirror=${spec.mirror}`] : []),
    ...(spec.packages ?? []).map((p) => `--package=${p}`),
    ...(sandboxTree ? [`--sandbox-tree=${sandboxTree}`] : []),
    `--output-directory=${outputDir}`,
    '--output=tools',
    `--cache-directory=${paths.mkosiCache}`,
    `--package-cache-directory=${paths.packages}`,
    `--workspace-directory=${paths.workspace}`,
    'build',
  ];
}

export interface EnsureOptions {
  /** How mkosi runs; the staging tree holds files of subordinate ids in a mapped namespace. */
  mode?: BuildMode;
  signal?: AbortSignal;
  logFile?: string;
  echo?: boolean;
  /** Told before the tree is built (it takes minutes). */
  onBuild?: (line: string) => void;
}

/**
 * Trees kept: the one in use and the one before it. A changed package list or mkosi makes a new
 * key, and each tree is about 1.8 GB; a checkout of the previous configuration still finds its own.
 */
export const KEEP_TOOLS_TREES = 2;

/** Removes the least recently used trees beyond KEEP_TOOLS_TREES (a tree's mtime is its last use). */
export async function pruneToolsTrees(root: string, remove: (dir: string) => Promise<void>): Promise<string[]> {
  const entries = (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.startsWith('.'));
  const trees = await Promise.all(entries.map(async (e) => ({ path: join(root, e.name), used: (await stat(join(root, e.name))).mtimeMs })));
  trees.sort((a, b) => b.used - a.used);
  const old = trees.slice(KEEP_TOOLS_TREES).map((t) => t.path);
  for (const dir of old) await remove(dir);
  return old;
}

/** Returns the tools tree path, building it first when it is not cached yet. */
export async function ensureToolsTree(mkosi: Mkosi, spec: ToolsTreeSpec, options: EnsureOptions = {}): Promise<{ path: string; built: boolean }> {
  const paths = cachePaths();
  const final = join(paths.tools, toolsTreeKey(spec, mkosi.version));
  const now = new Date();
  if (existsSync(join(final, 'usr/bin'))) {
    await utimes(final, now, now);
    return { path: final, built: false };
  }
  options.onBuild?.(`building the tools tree (${spec.distribution} ${spec.release}, first use: a few minutes, then cached)`);
  await mkdir(paths.tools, { recursive: true });
  await mkdir(paths.workspace, { recursive: true });
  const staging = await mkdtemp(join(paths.tools, '.building-'));
  try {
    const sandbox = spec.distribution === 'debian' ? await writeSandboxTree(paths.sandbox, { release: spec.release, mirror: spec.mirror }) : undefined;
    await run([...mkosi.argv, ...toolsTreeArgs(spec, staging, sandbox)], {
      env: mkosi.env,
      umask: MKOSI_UMASK,
      signal: options.signal,
      logFile: options.logFile,
      echo: options.echo,
      what: 'building the tools tree',
    });
    try {
      await rename(join(staging, 'tools'), final);
    } catch (error) {
      // Another build finished the same tree first; theirs is as good as ours.
      if (!existsSync(join(final, 'usr/bin'))) throw error;
    }
  } finally {
    await removeTree(staging, options.mode ?? { kind: 'root' });
  }
  await utimes(final, now, now);
  await pruneToolsTrees(paths.tools, (dir) => removeTree(dir, options.mode ?? { kind: 'root' }));
  return { path: final, built: true };
}
