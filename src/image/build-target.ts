/** One target's mkosi build into its staging directory, its record, and its delivery to the output directory. */
import { existsSync } from 'node:fs';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildOptions } from '../plan/options.js';
import { writeRecord } from '../record/write-record.js';
import { removeTree } from '../rootless/namespace.js';
import { BuildError } from '../system/errors.js';
import { cachePaths } from '../system/paths.js';
import { commandLine, run as runChild } from '../system/runner.js';
import { sha256File } from '../system/sha256.js';
import { MKOSI_UMASK } from '../adapters/mkosi.js';
import { deliver } from './deliver.js';
import { clonePackageCache, mergePackageCache } from './package-cache.js';
import { targetLabel, type TargetPlan } from './target-plan.js';
import { mkosiBuildArgs, packageCacheKey } from './mkosi-args.js';
import { describeSteps, PhaseClock } from './phases.js';
import type { ArtifactReport } from './report.js';
import { paths, type Session } from './session.js';

/** How one target's mkosi runs: `beside`, other builds may run at the same time. */
export interface TargetRun {
  signal?: AbortSignal;
  echo: boolean;
  beside: boolean;
}

export async function buildTarget(
  options: BuildOptions,
  plan: TargetPlan,
  c: Session,
  staging: string,
  outputDir: string,
  logDir: string,
  run: TargetRun,
): Promise<ArtifactReport> {
  const started = Date.now();
  const { target } = plan;
  const revision = c.revision;
  const signal = run.signal;
  const shared = packageCacheKey(options) === undefined ? undefined : paths(c, staging, options).packageCacheDir;
  // A local repository is its own cache (a throwaway download directory per build); a build
  // beside others downloads into a clone of the shared cache (package-cache.ts).
  const packages = shared === undefined || run.beside ? await mkdtemp(join(cachePaths().workspace, 'packages-')) : undefined;
  if (packages && shared) await clonePackageCache(shared, packages);
  const args = mkosiBuildArgs(options, target, { ...paths(c, staging, options, { install: plan.installDir, packages }), incremental: c.archive !== undefined }, revision);
  const argv = [...c.mkosi.argv, ...args];
  const logFile = join(logDir, `${target.profile}${target.variant ? `-${target.variant}` : ''}.log`);
  await rm(logFile, { force: true });
  const clock = new PhaseClock();
  try {
    await runChild(argv, {
      env: c.mkosi.env,
      umask: MKOSI_UMASK,
      signal,
      logFile,
      echo: run.echo,
      // Lines of builds side by side interleave: each says whose it is.
      echoPrefix: run.beside ? `${targetLabel(target)}: ` : undefined,
      what: `mkosi build of ${targetLabel(target)}`,
      onLine: (l) => clock.line(l),
    });
    if (packages && shared) await mergePackageCache(packages, shared);
  } finally {
    if (packages) await removeTree(packages, c.mode);
  }
  const phases = clock.finish();
  await appendFile(logFile, `${describeSteps(clock.steps()).join('\n')}\n`);
  const { name, files } = target.artifact;
  const built = join(staging, name);
  if (!existsSync(built)) throw new BuildError(`mkosi finished but ${name} is missing`, `the post-output hook did not write it; see ${logFile}`);
  const sha256 = await sha256File(built);
  const digestFile = join(staging, files.digest);
  const digest = existsSync(digestFile) ? (await readFile(digestFile, 'utf8')).trim() : undefined;
  await writeRecord({
    staging,
    artifactName: name,
    sha256,
    revision: c.revision,
    mkosiVersion: c.mkosi.version,
    toolsTreePath: c.toolsTree,
    options,
    target,
    seed: c.seed,
  });
  const { signature } = await deliver({ staging, outputDir, artifact: target.artifact, logFile, sign: options.sign, tools: c.toolbox, signal });
  return {
    profile: target.profile,
    variant: target.variant,
    path: join(outputDir, name),
    sha256,
    digest,
    record: join(outputDir, files.record),
    sbom: join(outputDir, files.sbom),
    signature,
    packages: phases?.packages,
    phases: phases?.seconds,
    seconds: Math.round((Date.now() - started) / 100) / 10,
    mkosiCommand: commandLine(argv, c.mkosi.env, MKOSI_UMASK),
  };
}
