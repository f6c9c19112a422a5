/** One target's mkosi build into its staging directory, its record, and its delivery to the output directory. */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildOptions, BuildTarget } from '../plan/options.js';
import { writeRecord } from '../record/write-record.js';
import { removeTree } from '../rootless/namespace.js';
import { BuildError } from '../system/errors.js';
import { cachePaths } from '../system/paths.js';
import { commandLine, run } from '../system/runner.js';
import { sha256File } from '../system/sha256.js';
import { MKOSI_UMASK } from '../adapters/mkosi.js';
import { deliver } from './deliver.js';
import { installCacheDir, installCacheKey } from './install-cache.js';
import { readResolvedConfig, summaryArgs } from './mkosi-config.js';
import { mkosiBuildArgs, packageCacheKey } from './mkosi-args.js';
import { PhaseClock } from './phases.js';
import type { ArtifactReport } from './report.js';
import { paths, type Session } from './session.js';

export const targetLabel = (t: BuildTarget) => (t.variant ? `${t.profile} (${t.variant})` : t.profile);

export async function buildTarget(
  options: BuildOptions,
  target: BuildTarget,
  c: Session,
  staging: string,
  outputDir: string,
  logDir: string,
  signal: AbortSignal | undefined,
  echo: boolean,
): Promise<ArtifactReport> {
  const started = Date.now();
  const revision = c.revision;
  const image =
    target === options.targets[0] ? c.firstImage : await readResolvedConfig(c.mkosi, summaryArgs(mkosiBuildArgs(options, target, paths(c, staging, options), revision)), signal);
  const key = await installCacheKey(image.all, {
    treeDir: c.treeDir,
    toolsTree: c.toolsTree,
    mkosiVersion: c.mkosi.version,
    buildMode: c.mode.kind,
    archive: c.archive,
  });
  const install = await installCacheDir(c.installCacheRoot ?? cachePaths().mkosiCache, key, (dir) => removeTree(dir, c.mode));
  const packages = packageCacheKey(options) === undefined ? await mkdtemp(join(staging, '..', '.packages-')) : undefined;
  const args = mkosiBuildArgs(options, target, { ...paths(c, staging, options, { install, packages }), incremental: c.archive !== undefined }, revision);
  const argv = [...c.mkosi.argv, ...args];
  const logFile = join(logDir, `${target.profile}${target.variant ? `-${target.variant}` : ''}.log`);
  await rm(logFile, { force: true });
  const clock = new PhaseClock();
  try {
    await run(argv, { env: c.mkosi.env, umask: MKOSI_UMASK, signal, logFile, echo, what: `mkosi build of ${targetLabel(target)}`, onLine: (l) => clock.line(l) });
  } finally {
    if (packages) await removeTree(packages, c.mode);
  }
  const phases = clock.finish();
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
