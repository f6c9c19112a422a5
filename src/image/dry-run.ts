/** `boxes build --dry-run`: the mkosi command lines a build would run, and nothing built. */
import { join } from 'node:path';
import { findMkosi, MKOSI_UMASK } from '../adapters/mkosi.js';
import { treeRevision } from '../adapters/git-revision.js';
import type { BuildOptions } from '../plan/options.js';
import type { BuildMode } from '../rootless/build-mode.js';
import { mkosiFor } from '../rootless/namespace.js';
import { commandLine } from '../system/runner.js';
import { mkosiBuildArgs } from './mkosi-args.js';
import type { BuildReport } from './report.js';
import { paths, type Places } from './session.js';

export async function dryRun(options: BuildOptions, treeDir: string, outputDir: string, mode: BuildMode): Promise<BuildReport> {
  const mkosi = mkosiFor((await findMkosi()) ?? { argv: ['mkosi'], env: {}, version: 'not installed', source: 'system' as const }, mode);
  const revision = await treeRevision(treeDir);
  const c: Places = { treeDir, toolsTree: '<tools tree>', sandboxTree: options.distribution === 'debian' ? '<apt sources sandbox>' : undefined };
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
      return {
        profile: target.profile,
        variant: target.variant,
        path: join(outputDir, target.artifact.name),
        sha256: '',
        mkosiCommand: commandLine(
          [...mkosi.argv, ...mkosiBuildArgs(options, target, paths(c, '<staging>', options, { install: '<install cache>' }), revision)],
          mkosi.env,
          MKOSI_UMASK,
        ),
      };
    }),
  };
}
