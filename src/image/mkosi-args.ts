/** The mkosi command line for one build target: a pure function, recorded and tested as a table. */
import { hookEnvironment } from '../artifact/artifact.js';
import type { BuildOptions, BuildTarget } from '../plan/options.js';

/** The Arch container's keyring trust anchor, relative to the tree (see scripts/keyring-anchor.sh). */
export const KEYRING_ANCHOR_DIR = 'mkosi.profiles/container/keyring-anchor';

export interface MkosiPaths {
  treeDir: string;
  outputDir: string;
  cacheDir: string;
  packageCacheDir: string;
  /** mkosi's scratch space; its default follows the uid (and lands outside boxes' cache). */
  workspaceDir: string;
  toolsTree: string;
  /** Debian only: sandbox tree with the apt sources. */
  sandboxTree?: string;
  /** false: no install cache (a live archive whose state could not be read). */
  incremental?: boolean;
}

export function archMirror(options: Pick<BuildOptions, 'mirror' | 'snapshot'>): { mirror?: string; localMirror?: string } {
  if (options.mirror?.startsWith('file://')) return { localMirror: options.mirror };
  if (options.snapshot) {
    const [y, m, d] = options.snapshot.split('-');
    return { mirror: `https://archive.archlinux.org/repos/${y}/${m}/${d}` };
  }
  return options.mirror ? { mirror: options.mirror } : {};
}

/**
 * The package download cache's subdirectory for a build's mirror, or undefined for a local
 * repository. Package managers trust a cached file by its name and version, so a package rebuilt
 * under the same name would meet the old file (pacman: "invalid or corrupted package"): each remote
 * mirror gets its own download cache (a snapshot is the same archive on another day and shares its
 * host's), and a local repository, which is its own cache, gets a throwaway one per build.
 */
export function packageCacheKey(options: Pick<BuildOptions, 'distribution' | 'mirror'>): string | undefined {
  const mirror = options.mirror;
  if (!mirror) return `${options.distribution}-default`;
  if (mirror.startsWith('file://')) return undefined;
  const url = URL.canParse(mirror) ? new URL(mirror) : undefined;
  const where = url ? `${url.host}${url.pathname}` : mirror;
  return `${options.distribution}-${where.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '')}`;
}

export function mkosiBuildArgs(options: BuildOptions, target: BuildTarget, paths: MkosiPaths, revision: string): string[] {
  const args = ['--directory', paths.treeDir, '--profile', target.profile];
  if (target.variant) args.push('--profile', target.variant);
  args.push('--distribution', options.distribution);
  if (options.distribution !== 'arch') args.push('--release', options.release);
  if (options.distribution === 'arch') {
    const { mirror, localMirror } = archMirror(options);
    if (localMirror) args.push(`--local-mirror=${localMirror}`);
    if (mirror) args.push(`--mirror=${mirror}`);
  } else if (options.mirror) {
    args.push(`--mirror=${options.mirror}`);
  }
  if (paths.sandboxTree) args.push(`--sandbox-tree=${paths.sandboxTree}`);
  // Another trust anchor is mounted over the tree's own (keyring.finalize reads it from there).
  if (options.keyringAnchor) args.push(`--build-sources=${paths.treeDir},${options.keyringAnchor}:${KEYRING_ANCHOR_DIR}`);
  if (!options.repositoryKeyCheck) args.push('--repository-key-check=no');
  if (options.seed) args.push(`--seed=${options.seed}`);
  // mkosi's single-uid mode cannot chown: mkosi-chroot skips chown, and the VM images carry a
  // first-boot unit that gives the login user its home (mkosi.vm/vm.finalize).
  if (options.singleUid) args.push('--environment=MKOSI_CHROOT_SUPPRESS_CHOWN=1', '--environment=BOXES_SINGLE_UID=1');
  args.push(
    `--source-date-epoch=${options.sourceDateEpoch}`,
    `--image-version=${options.buildVersion}`,
    `--environment=BOXES_REVISION=${revision}`,
    // The hooks write what the artifact's description names; they derive no name themselves.
    ...hookEnvironment(target.artifact).map((e) => `--environment=${e}`),
    ...(target.artifact.kind === 'disk' ? [`--environment=BOXES_QCOW2_COMPRESSION=${options.qcow2Compression}`] : []),
    `--tools-tree=${paths.toolsTree}`,
    `--output-directory=${paths.outputDir}`,
    `--cache-directory=${paths.cacheDir}`,
    `--package-cache-directory=${paths.packageCacheDir}`,
    `--workspace-directory=${paths.workspaceDir}`,
    // The installed package set is cached (see install-cache.ts); `--force` once keeps that cache.
    ...(paths.incremental === false ? [] : ['--incremental=yes']),
    '--force',
    'build',
  );
  return args;
}
