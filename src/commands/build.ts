/** `boxes build`: images of one or more profiles, audited, recorded and delivered atomically. */
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { hostDistribution } from '../artifact/host-distribution.js';
import { build } from '../image/build.js';
import { formatReport, reportJson } from '../image/report.js';
import { parseBuildOptions, type RawBuildOptions } from '../plan/options.js';
import { interruptible, warnAbout, withBuildOptions } from './shared.js';

export function registerBuild(program: Command): void {
  withBuildOptions(program.command('build').description('build images for one or more profiles'), 'output')
    .option('--sign <keyid>', 'sign each artifact with this GnuPG key (<artifact>.sig)')
    .option('--dry-run', 'validate and print the mkosi command lines; build nothing')
    .action(async (raw: RawBuildOptions) => {
      const options = parseBuildOptions(raw, { now: new Date(), hostDistribution: await hostDistribution(), cpus: availableParallelism() });
      warnAbout(options);
      const report = await interruptible((signal) => build(options, { signal }));
      process.stdout.write(options.json ? reportJson(report) : `${formatReport(report, options.dryRun)}\n`);
    });
}
