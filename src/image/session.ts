/**
 * What the image builds of one `boxes build` share: where files go, what the configuration and the
 * archive say (read once), and the settled session every target builds from.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Mkosi } from '../adapters/mkosi.js';
import type { BuildOptions } from '../plan/options.js';
import type { BuildMode } from '../rootless/build-mode.js';
import { UsageError } from '../system/errors.js';
import { cachePaths } from '../system/paths.js';
import { treeRevision } from '../adapters/git-revision.js';
import { archiveState, archRequests, ARCH_DEFAULT_MIRROR, debianRequests, localMirrorState } from './archive-state.js';
import { readResolvedConfig, summaryArgs, type ResolvedImage } from './mkosi-config.js';
import { mkosiBuildArgs, packageCacheKey } from './mkosi-args.js';
import type { PhaseIo } from './reporter.js';
import { aptSources, writeSandboxTree } from './sources.js';
import type { ToolsTreeSpec } from './tools-tree.js';
import type { Toolbox } from '../system/toolbox.js';

/** Where a build's files go; known before the tools tree is (the first `mkosi summary` needs them). */
export interface Places {
  treeDir: string;
  workspaceDir?: string;
  installCacheRoot?: string;
  toolsTree?: string;
  sandboxTree?: string;
}

/** What the mkosi configuration and the archive say, read once before any image is built. */
export interface Configuration {
  revision: string;
  /** Debian: the apt sources mkosi's sandbox uses. */
  sandboxTree?: string;
  /** A live archive's state, 'pinned' for a snapshot or local repository; undefined: unreadable, no install cache. */
  archive?: string;
  /** The first target's resolved image: its install cache key needs no second `mkosi summary`. */
  firstImage: ResolvedImage;
  seed: string;
  /** --tools-tree, or the default tools tree mkosi.conf asks for, which boxes builds and caches. */
  tools: { kind: 'given'; path: string } | { kind: 'default'; spec: ToolsTreeSpec };
}

/** Everything the image builds share, settled before the first one starts; never changed after. */
export interface Session extends Places, Configuration {
  readonly mode: BuildMode;
  readonly mkosi: Mkosi;
  readonly toolsTree: string;
  /** The tools tree's programs, through mkosi's sandbox: what the audit reads disks with. */
  readonly toolbox: Toolbox;
}

/** The tree's revision, Debian's apt sources, the archive's state and the first target's resolved configuration. */
export async function readConfiguration(
  options: BuildOptions,
  io: { revision?: string; signal?: AbortSignal },
  mkosi: Mkosi,
  places: Places,
  outputDir: string,
  p: PhaseIo,
): Promise<Configuration> {
  const revision = io.revision ?? (await treeRevision(places.treeDir));
  const sandboxTree =
    options.distribution === 'debian' ? await writeSandboxTree(cachePaths().sandbox, { release: options.release, mirror: options.mirror, snapshot: options.snapshot }) : undefined;
  const archive = await liveArchiveState(options, io.signal);
  if (!archive)
    p.say(
      process.env.BOXES_INSTALL_CACHE === 'off'
        ? 'BOXES_INSTALL_CACHE=off: building without the install cache'
        : 'the archive did not say what it publishes now: building without the install cache',
    );
  const args = summaryArgs(mkosiBuildArgs(options, options.targets[0]!, paths({ ...places, sandboxTree }, outputDir, options), revision));
  const firstImage = await readResolvedConfig(mkosi, args, io.signal);
  const read = { revision, sandboxTree, archive, firstImage, seed: options.seed ?? firstImage.Seed };
  if (options.toolsTree) return { ...read, tools: { kind: 'given', path: resolve(options.toolsTree) } };
  if (!firstImage.ToolsTreeDistribution || !firstImage.ToolsTreeRelease)
    throw new UsageError('mkosi.conf names no ToolsTreeDistribution= and ToolsTreeRelease=', 'set them or pass --tools-tree');
  const spec = {
    distribution: firstImage.ToolsTreeDistribution,
    release: firstImage.ToolsTreeRelease,
    mirror: firstImage.ToolsTreeMirror ?? undefined,
    packages: firstImage.ToolsTreePackages ?? [],
  };
  return { ...read, tools: { kind: 'default', spec } };
}

export interface TargetCaches {
  install?: string;
  /** A local repository's throwaway download cache. */
  packages?: string;
}

export function paths(c: Places, stagingOrOutput: string, options: BuildOptions, caches: TargetCaches = {}) {
  const cache = cachePaths();
  const key = packageCacheKey(options);
  return {
    treeDir: c.treeDir,
    outputDir: stagingOrOutput,
    cacheDir: caches.install ?? c.installCacheRoot ?? cache.mkosiCache,
    packageCacheDir: caches.packages ?? (key ? join(cache.packages, key) : join(cache.workspace, 'local-packages')),
    workspaceDir: c.workspaceDir ?? cache.workspace,
    toolsTree: c.toolsTree ?? 'default',
    sandboxTree: c.sandboxTree,
  };
}

/** What the build's archive publishes: 'pinned' for a snapshot; a local repository's files; a live archive's state. */
async function liveArchiveState(options: BuildOptions, signal?: AbortSignal): Promise<string | undefined> {
  if (process.env.BOXES_INSTALL_CACHE === 'off') return undefined;
  if (options.mirror?.startsWith('file://')) return localMirrorState(fileURLToPath(options.mirror));
  if (options.snapshot) return 'pinned';
  const requests =
    options.distribution === 'debian'
      ? debianRequests(aptSources({ release: options.release, mirror: options.mirror }))
      : archRequests(options.mirror ?? ARCH_DEFAULT_MIRROR, ['core', 'extra', 'multilib']);
  return archiveState(requests, signal);
}
