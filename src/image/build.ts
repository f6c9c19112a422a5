/**
 * `boxes build`: validate, provision mkosi, ensure the tools tree, then one mkosi build per target
 * into a private staging directory; artifacts reach the output directory only by rename.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Listr, PRESET_TIMER } from 'listr2';
import { BuildError, UsageError } from '../system/errors.js';
import { requirePath } from '../system/path-kind.js';
import { makeDirectory, outputDirProblem } from '../system/host.js';
import { mkosiBuildArgs, packageCacheKey } from './mkosi-args.js';
import { installCacheDir, installCacheKey } from './install-cache.js';
import { describePhases, PhaseClock, type Phases } from './phases.js';
import { readResolvedConfig, summaryArgs, type ResolvedImage } from './mkosi-config.js';
import { findMkosi, provisionMkosi, type Mkosi } from '../adapters/mkosi.js';
import { artifactName } from '../artifact/naming.js';
import type { BuildOptions, BuildTarget } from '../plan/options.js';
import { lockOutputDir } from './output-lock.js';
import { cachePaths, TREE_DIR } from '../system/paths.js';
import { chooseRenderer, currentSituation } from './renderer.js';
import { treeRevision } from '../adapters/git-revision.js';
import { commandLine, run } from '../system/runner.js';
import { writeSha256Sums } from './checksums.js';
import { sha256File } from '../system/sha256.js';
import { aptSources, writeSandboxTree } from './sources.js';
import { archiveState, archRequests, ARCH_DEFAULT_MIRROR, debianRequests, localMirrorState } from './archive-state.js';
import { ensureToolsTree, type ToolsTreeSpec } from './tools-tree.js';
import { recordName, sbomName, writeRecord } from '../record/write-record.js';
import { checkSigningKey } from '../adapters/gpg-sign.js';
import { checkKeyringAnchor } from './keyring-anchor.js';
import { diskTools } from '../audit/tools.js';
import { deliver } from './deliver.js';
import { findProfile } from '../artifact/profiles.js';
import type { BuildMode } from '../rootless/build-mode.js';
import { detectBuildMode, mkosiFor, removeTree } from '../rootless/namespace.js';

export interface ArtifactReport {
  profile: string;
  variant?: string;
  path: string;
  sha256: string;
  /** OCI manifest digest, for container images */
  digest?: string;
  /** The build record and SBOM written next to the artifact (not in dry runs). */
  record?: string;
  sbom?: string;
  /** `--sign`: the detached signature. */
  signature?: string;
  /** Whether mkosi installed the packages or copied the set an earlier build cached. */
  packages?: 'installed' | 'cached';
  /** Seconds per phase of the mkosi build. */
  phases?: Phases['seconds'];
  /** Seconds the whole target took (mkosi, record, audit, delivery). */
  seconds?: number;
  mkosiCommand: string;
}

export interface BuildReport {
  distribution: string;
  release: string;
  sourceDateEpoch: number;
  seed: string;
  buildVersion: string;
  outputDir: string;
  mkosiVersion: string;
  toolsTree: string;
  /** root, subordinate-ids (rootless, fully mapped) or single-uid */
  buildMode: BuildMode['kind'];
  artifacts: ArtifactReport[];
  sha256sums?: string;
}

interface Ctx {
  treeDir: string;
  /** A live archive's state, 'pinned' for a snapshot or local repository; undefined: unreadable, no install cache. */
  archive?: string;
  /** The first target's resolved image: its install cache key needs no second `mkosi summary`. */
  firstImage?: ResolvedImage;
  workspaceDir?: string;
  installCacheRoot?: string;
  mode: BuildMode;
  mkosi?: Mkosi;
  seed?: string;
  toolsTree?: string;
  /** The default tools tree mkosi.conf asks for, built by boxes when --tools-tree is not given. */
  toolsSpec?: ToolsTreeSpec;
  revision?: string;
  sandboxTree?: string;
  artifacts: ArtifactReport[];
}

/** How a build's environment differs from the caller's (boxes verify's second build). */
export interface BuildEnvironment {
  /** Added to mkosi's environment. */
  env: Record<string, string>;
  /** Runs before mkosi, inside the build namespace when rootless (e.g. `taskset`, a UTS namespace). */
  wrapper: string[];
  /** mkosi's workspace, instead of the cache's. */
  workspaceDir?: string;
  /** Where the installed package sets are cached, instead of the cache's (an empty one: an uncached build). */
  installCacheRoot?: string;
}

export interface BuildIo {
  signal?: AbortSignal;
  environment?: BuildEnvironment;
  treeDir?: string;
  /** The revision to record, for a copy of the tree that is not a git checkout (boxes verify). */
  revision?: string;
}

function inEnvironment(mkosi: Mkosi, environment: BuildEnvironment | undefined): Mkosi {
  if (!environment) return mkosi;
  return { ...mkosi, argv: [...environment.wrapper, ...mkosi.argv], env: { ...mkosi.env, ...environment.env } };
}

const targetLabel = (t: BuildTarget) => (t.variant ? `${t.profile} (${t.variant})` : t.profile);

export async function checkBuildInput(options: BuildOptions, signal?: AbortSignal): Promise<void> {
  const problem = await outputDirProblem(options.outputDir);
  if (problem) throw new UsageError(`cannot write the output directory: ${problem}`, 'pass a writable --output-dir');
  if (options.sign && !options.dryRun) await checkSigningKey(options.sign, signal);
  if (options.keyringAnchor) await checkKeyringAnchor(options.keyringAnchor);
  if (options.toolsTree) await requirePath('--tools-tree', options.toolsTree, 'directory');
  // Disk images and boxes are audited by reading their disk; say what is missing before building.
  if (!options.dryRun && options.targets.some((t) => findProfile(t.profile)?.kind !== 'container')) await diskTools();
}

/** The umask every build runs under: mkosi 25 copies its default initrd's files under the caller's. */
export const BUILD_UMASK = 0o022;

export async function build(options: BuildOptions, io: BuildIo = {}): Promise<BuildReport> {
  await checkBuildInput(options, io.signal);
  process.umask(BUILD_UMASK);
  const treeDir = io.treeDir ?? TREE_DIR;
  const outputDir = resolve(options.outputDir);
  const logDir = join(outputDir, 'logs');
  const cache = cachePaths();
  const echo = options.verbose;
  const mode = await detectBuildMode({ singleUid: options.singleUid, signal: io.signal });
  const ctx: Ctx = { treeDir, mode, artifacts: [], workspaceDir: io.environment?.workspaceDir, installCacheRoot: io.environment?.installCacheRoot };

  if (options.dryRun) return dryRun(options, treeDir, outputDir, mode);

  await makeDirectory(outputDir);
  const unlock = await lockOutputDir(outputDir);
  const stagings: string[] = [];
  try {
    await mkdir(logDir, { recursive: true });
    await mkdir(cache.workspace, { recursive: true });
    const renderer = chooseRenderer(currentSituation(options));
    const tasks = new Listr<Ctx, 'default' | 'verbose' | 'silent', 'verbose'>(
      [
        {
          title: 'Provision mkosi',
          task: async (c, task) => {
            const found = await findMkosi();
            if (!found) task.output = 'downloading the pinned mkosi (first use)';
            c.mkosi = mkosiFor(inEnvironment(found ?? (await provisionMkosi({ signal: io.signal, logFile: join(logDir, 'setup.log') })), io.environment), c.mode);
            task.title = `mkosi ${c.mkosi.version} (${c.mkosi.source})`;
          },
        },
        {
          title: 'Read the mkosi configuration',
          task: async (c, task) => {
            c.revision = io.revision ?? (await treeRevision(treeDir));
            if (options.distribution === 'debian')
              c.sandboxTree = await writeSandboxTree(cache.sandbox, { release: options.release, mirror: options.mirror, snapshot: options.snapshot });
            c.archive = await liveArchiveState(options, io.signal);
            if (!c.archive)
              task.output =
                process.env.BOXES_INSTALL_CACHE === 'off'
                  ? 'BOXES_INSTALL_CACHE=off: building without the install cache'
                  : 'the archive did not say what it publishes now: building without the install cache';
            const args = summaryArgs(mkosiBuildArgs(options, options.targets[0]!, paths(c, outputDir, options), c.revision));
            const resolved = await readResolvedConfig(c.mkosi!, args, io.signal);
            c.firstImage = resolved;
            c.seed = options.seed ?? resolved.Seed;
            if (options.toolsTree) return;
            if (!resolved.ToolsTreeDistribution || !resolved.ToolsTreeRelease)
              throw new UsageError('mkosi.conf names no ToolsTreeDistribution= and ToolsTreeRelease=', 'set them or pass --tools-tree');
            c.toolsSpec = {
              distribution: resolved.ToolsTreeDistribution,
              release: resolved.ToolsTreeRelease,
              mirror: resolved.ToolsTreeMirror ?? undefined,
              packages: resolved.ToolsTreePackages ?? [],
            };
          },
        },
        {
          title: 'Tools tree',
          task: async (c, task) => {
            if (options.toolsTree) {
              c.toolsTree = resolve(options.toolsTree);
              return;
            }
            const { distribution, release } = c.toolsSpec!;
            task.output = `${distribution} ${release}: building on first use (about two minutes), then cached`;
            const tree = await ensureToolsTree(c.mkosi!, c.toolsSpec!, { mode: c.mode, signal: io.signal, logFile: join(logDir, 'tools-tree.log'), echo });
            c.toolsTree = tree.path;
            task.title = `Tools tree ${distribution} ${release} (${tree.built ? 'built' : 'cached'})`;
          },
        },
        ...options.targets.map((target) => ({
          title: `Image ${targetLabel(target)}`,
          task: async (c: Ctx, task: { title: string }) => {
            const staging = await mkdtemp(join(outputDir, '.staging-'));
            stagings.push(staging);
            const artifact = await buildTarget(options, target, c, staging, outputDir, logDir, io.signal, echo);
            c.artifacts.push(artifact);
            if (artifact.packages && artifact.phases) task.title = `Image ${targetLabel(target)}: ${describePhases({ packages: artifact.packages, seconds: artifact.phases })}`;
            await removeTree(staging, c.mode);
          },
        })),
        {
          title: 'Checksums',
          task: async () => {
            await writeSha256Sums(outputDir);
          },
        },
      ],
      {
        renderer,
        fallbackRenderer: 'verbose',
        rendererOptions: { timer: PRESET_TIMER },
        fallbackRendererOptions: { timer: PRESET_TIMER },
        exitOnError: true,
        registerSignalListeners: false,
        collectErrors: false,
      },
    );
    await tasks.run(ctx);
    return {
      distribution: options.distribution,
      release: options.release,
      sourceDateEpoch: options.sourceDateEpoch,
      seed: ctx.seed!,
      buildVersion: options.buildVersion,
      outputDir,
      mkosiVersion: ctx.mkosi!.version,
      toolsTree: ctx.toolsTree!,
      buildMode: mode.kind,
      artifacts: ctx.artifacts,
      sha256sums: join(outputDir, 'SHA256SUMS'),
    };
  } finally {
    for (const staging of stagings) await removeTree(staging, mode);
    await unlock();
  }
}

interface TargetCaches {
  install?: string;
  /** A local repository's throwaway download cache. */
  packages?: string;
}

function paths(c: Ctx, stagingOrOutput: string, options: BuildOptions, caches: TargetCaches = {}) {
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

async function buildTarget(
  options: BuildOptions,
  target: BuildTarget,
  c: Ctx,
  staging: string,
  outputDir: string,
  logDir: string,
  signal: AbortSignal | undefined,
  echo: boolean,
): Promise<ArtifactReport> {
  const started = Date.now();
  const revision = c.revision ?? 'unknown';
  const image =
    target === options.targets[0] && c.firstImage
      ? c.firstImage
      : await readResolvedConfig(c.mkosi!, summaryArgs(mkosiBuildArgs(options, target, paths(c, staging, options), revision)), signal);
  const key = await installCacheKey(image.all, {
    treeDir: c.treeDir,
    toolsTree: c.toolsTree!,
    mkosiVersion: c.mkosi!.version,
    buildMode: c.mode.kind,
    archive: c.archive,
  });
  const install = await installCacheDir(c.installCacheRoot ?? cachePaths().mkosiCache, key, (dir) => removeTree(dir, c.mode));
  const packages = packageCacheKey(options) === undefined ? await mkdtemp(join(staging, '..', '.packages-')) : undefined;
  const args = mkosiBuildArgs(options, target, { ...paths(c, staging, options, { install, packages }), incremental: c.archive !== undefined }, revision);
  const argv = [...c.mkosi!.argv, ...args];
  const logFile = join(logDir, `${target.profile}${target.variant ? `-${target.variant}` : ''}.log`);
  await rm(logFile, { force: true });
  const clock = new PhaseClock();
  try {
    await run(argv, { env: c.mkosi!.env, signal, logFile, echo, what: `mkosi build of ${targetLabel(target)}`, onLine: (l) => clock.line(l) });
  } finally {
    if (packages) await removeTree(packages, c.mode);
  }
  const phases = clock.finish();
  const name = artifactName({ ...target, distribution: options.distribution, release: options.release, version: options.buildVersion });
  const built = join(staging, name);
  if (!existsSync(built)) throw new BuildError(`mkosi finished but ${name} is missing`, `the post-output hook did not write it; see ${logFile}`);
  const sha256 = await sha256File(built);
  const digestFile = `${built}.digest`;
  const digest = existsSync(digestFile) ? (await readFile(digestFile, 'utf8')).trim() : undefined;
  await writeRecord({
    staging,
    artifactName: name,
    sha256,
    revision: c.revision ?? 'unknown',
    mkosiVersion: c.mkosi!.version,
    toolsTreePath: c.toolsTree!,
    options,
    target,
    seed: c.seed!,
  });
  const { signature } = await deliver({ staging, outputDir, name, logFile, sign: options.sign, signal });
  return {
    profile: target.profile,
    variant: target.variant,
    path: join(outputDir, name),
    sha256,
    digest,
    record: join(outputDir, recordName(name)),
    sbom: join(outputDir, sbomName(name)),
    signature,
    packages: phases?.packages,
    phases: phases?.seconds,
    seconds: Math.round((Date.now() - started) / 100) / 10,
    mkosiCommand: commandLine(argv, c.mkosi!.env),
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

async function dryRun(options: BuildOptions, treeDir: string, outputDir: string, mode: BuildMode): Promise<BuildReport> {
  const mkosi = mkosiFor((await findMkosi()) ?? { argv: ['mkosi'], env: {}, version: 'not installed', source: 'system' as const }, mode);
  const revision = await treeRevision(treeDir);
  const c: Ctx = { treeDir, mode, mkosi, toolsTree: '<tools tree>', revision, artifacts: [] };
  if (options.distribution === 'debian') c.sandboxTree = '<apt sources sandbox>';
  return {
    distribution: options.distribution,
    release: options.release,
    sourceDateEpoch: options.sourceDateEpoch,
    seed: options.seed ?? '(from mkosi.conf)',
    buildVersion: options.buildVersion,
    outputDir,
    mkosiVersion: mkosi.version,
    toolsTree: '<tools tree>',
    buildMode: mode.kind,
    artifacts: options.targets.map((target) => {
      const name = artifactName({ ...target, distribution: options.distribution, release: options.release, version: options.buildVersion });
      return {
        profile: target.profile,
        variant: target.variant,
        path: join(outputDir, name),
        sha256: '',
        mkosiCommand: commandLine([...mkosi.argv, ...mkosiBuildArgs(options, target, paths(c, '<staging>', options, { install: '<install cache>' }), revision)], mkosi.env),
      };
    }),
  };
}
