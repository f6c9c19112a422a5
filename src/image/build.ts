/**
 * `boxes build`: validate, provision mkosi, ensure the tools tree, then one mkosi build per target
 * into a private staging directory; artifacts reach the output directory only by rename.
 */
import { mkdir, mkdtemp } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { checkSigningKey } from '../adapters/gpg-sign.js';
import { findMkosi, provisionMkosi, type Mkosi } from '../adapters/mkosi.js';
import type { BuildOptions } from '../plan/options.js';
import { detectBuildMode, mkosiFor, removeTree } from '../rootless/namespace.js';
import { UsageError } from '../system/errors.js';
import { makeDirectory, outputDirProblem } from '../system/host.js';
import { requirePath } from '../system/path-kind.js';
import { cachePaths, TREE_DIR } from '../system/paths.js';
import { buildTarget } from './build-target.js';
import { fanOut } from './fan-out.js';
import { describePhases } from './phases.js';
import { writeSha256Sums } from './checksums.js';
import { dryRun } from './dry-run.js';
import { checkKeyringAnchor } from './keyring-anchor.js';
import { lockOutputDir } from './output-lock.js';
import { chooseRenderer, currentSituation } from './renderer.js';
import type { BuildReport } from './report.js';
import { listrReporter } from './reporter.js';
import { readConfiguration, type Places, type Session } from './session.js';
import { ensureToolsTree } from './tools-tree.js';
import { describeSchedule, planTargets, targetLabel, waitKey } from './target-plan.js';
import { toolboxOver } from './toolbox.js';
import { requireVisibleToTools } from '../system/toolbox.js';

export type { ArtifactReport, BuildReport } from './report.js';

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
  /** Another build runs at the same time (boxes verify's two): every target downloads beside it. */
  beside?: boolean;
}

function inEnvironment(mkosi: Mkosi, environment: BuildEnvironment | undefined): Mkosi {
  if (!environment) return mkosi;
  return { ...mkosi, argv: [...environment.wrapper, ...mkosi.argv], env: { ...mkosi.env, ...environment.env } };
}

export async function checkBuildInput(options: BuildOptions, signal?: AbortSignal): Promise<void> {
  // The audit of a disk or box reads it in the output directory with the tools tree's programs.
  if (options.targets.some((t) => t.artifact.kind !== 'container')) requireVisibleToTools('--output-dir', options.outputDir);
  const problem = await outputDirProblem(options.outputDir);
  if (problem) throw new UsageError(`cannot write the output directory: ${problem}`, 'pass a writable --output-dir');
  if (options.sign && !options.dryRun) await checkSigningKey(options.sign, signal);
  if (options.keyringAnchor) await checkKeyringAnchor(options.keyringAnchor);
  if (options.toolsTree) await requirePath('--tools-tree', options.toolsTree, 'directory');
}

export async function build(options: BuildOptions, io: BuildIo = {}): Promise<BuildReport> {
  await checkBuildInput(options, io.signal);
  const treeDir = io.treeDir ?? TREE_DIR;
  const outputDir = resolve(options.outputDir);
  const logDir = join(outputDir, 'logs');
  const cache = cachePaths();
  const echo = options.verbose;
  const mode = await detectBuildMode({ singleUid: options.singleUid, signal: io.signal });
  const places: Places = { treeDir, workspaceDir: io.environment?.workspaceDir, installCacheRoot: io.environment?.installCacheRoot };

  if (options.dryRun) return dryRun(options, treeDir, outputDir, mode);

  await makeDirectory(outputDir);
  const unlock = await lockOutputDir(outputDir);
  const stagings: string[] = [];
  try {
    await mkdir(logDir, { recursive: true });
    await mkdir(cache.workspace, { recursive: true });
    const reporter = listrReporter(chooseRenderer(currentSituation(options)));
    const mkosi = await reporter.phase('Provision mkosi', async (p) => {
      const found = await findMkosi();
      if (!found) p.say('downloading the pinned mkosi (first use)');
      const m = mkosiFor(inEnvironment(found ?? (await provisionMkosi({ signal: io.signal, logFile: join(logDir, 'setup.log') })), io.environment), mode);
      p.retitle(`mkosi ${m.version} (${m.source})`);
      return m;
    });
    const configuration = await reporter.phase('Read the mkosi configuration', (p) => readConfiguration(options, io, mkosi, places, outputDir, p));
    const toolsTree = await reporter.phase('Tools tree', async (p) => {
      if (configuration.tools.kind === 'given') return configuration.tools.path;
      const spec = configuration.tools.spec;
      p.say(`${spec.distribution} ${spec.release}: building on first use (about two minutes), then cached`);
      const tree = await ensureToolsTree(mkosi, spec, { mode, signal: io.signal, logFile: join(logDir, 'tools-tree.log'), echo });
      p.retitle(`Tools tree ${spec.distribution} ${spec.release} (${tree.built ? 'built' : 'cached'})`);
      return tree.path;
    });
    const toolbox = await toolboxOver(toolsTree, mkosi);
    const session: Session = Object.freeze({ ...places, ...configuration, mode, mkosi, toolsTree, toolbox });
    const plans = await reporter.phase('Plan the images', async (p) => {
      const planned = await planTargets(options, session, outputDir, io.signal);
      p.retitle(`Plan: ${describeSchedule(planned, options.jobs)}`);
      return planned;
    });
    const items = plans.map((p) => ({ title: `Image ${targetLabel(p.target)}`, waitKey: waitKey(p) }));
    const artifacts = await fanOut(
      items,
      options.jobs,
      reporter,
      async (i, run) => {
        const plan = plans[i]!;
        const staging = await mkdtemp(join(outputDir, '.staging-'));
        stagings.push(staging);
        const artifact = await buildTarget(options, plan, session, staging, outputDir, logDir, { signal: run.signal, echo, beside: run.beside || Boolean(io.beside) });
        const phases = artifact.packages && artifact.phases ? `${describePhases({ packages: artifact.packages, seconds: artifact.phases })}; ` : '';
        run.io.retitle(`${items[i]!.title}: ${phases}${artifact.seconds} s`);
        await removeTree(staging, mode);
        return artifact;
      },
      io.signal,
    );
    await reporter.phase('Checksums', () => writeSha256Sums(outputDir));
    return {
      distribution: options.distribution,
      release: options.release,
      sourceDateEpoch: options.sourceDateEpoch,
      seed: session.seed,
      buildVersion: options.buildVersion,
      outputDir,
      mkosiVersion: mkosi.version,
      toolsTree,
      buildMode: mode.kind,
      artifacts,
      sha256sums: join(outputDir, 'SHA256SUMS'),
    };
  } finally {
    for (const staging of stagings) await removeTree(staging, mode);
    await unlock();
  }
}
