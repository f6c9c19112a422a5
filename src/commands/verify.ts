/** `boxes verify`: build twice in two environments and compare every artifact. */
import { availableParallelism } from 'node:os';
import { Option, type Command } from 'commander';
import { hostDistribution } from '../artifact/host-distribution.js';
import { parseBuildOptions, type RawBuildOptions } from '../plan/options.js';
import { parseVariations, VARIATIONS } from '../verify/variations.js';
import { formatVerify, NotReproducible, verify } from '../verify/verify.js';
import { handedOver } from '../verify/second-build.js';
import { build } from '../image/build.js';
import { reportJson } from '../image/report.js';
import { interruptible, warnAbout, withBuildOptions } from './shared.js';

export function registerVerify(program: Command): void {
  const noVary = new Option('--no-vary <list>', 'variations to leave out, comma-separated');
  // commander reads --no-X as the negation of --X; this one takes its own list.
  noVary.negate = false;
  withBuildOptions(
    program
      .command('verify')
      .description('build twice, the second in another environment (path, filesystem, umask, TZ, locale, hostname, CPUs), compare every artifact, explain differences'),
    'verify',
  )
    .option('--vary <list>', `variations for the second build, comma-separated (default: all of ${VARIATIONS.join(', ')})`)
    .addOption(noVary)
    .option('--bisect', 'on a difference, rebuild once per variation to name the one that causes it')
    .action(async (raw: RawBuildOptions & { vary?: string; noVary?: string; bisect?: boolean }) => {
      const { vary, noVary: without, bisect, ...buildRaw } = raw;
      const variations = { vary, noVary: without, bisect: Boolean(bisect) };
      parseVariations(vary, without);
      const options = parseBuildOptions(buildRaw, { now: new Date(), hostDistribution: await hostDistribution(), cpus: availableParallelism() });
      warnAbout(options);
      const report = await interruptible((signal) => verify(options, { signal, onEvent: (line) => process.stderr.write(`boxes: verify: ${line}\n`) }, variations));
      process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatVerify(report)}\n`);
      const differ = report.artifacts.filter((r) => !r.identical);
      if (differ.length > 0)
        throw new NotReproducible(
          `${differ.length} of ${report.artifacts.length} artifacts differ between two builds (varied: ${report.variations.map((v) => v.name).join(', ')}): ${differ.map((r) => `${r.artifact.split('/').at(-1)} (${r.where[0] ?? 'see diffoscope'})`).join('; ')}`,
          report.bisect ? undefined : 'pass --bisect to find the variation that causes it',
        );
    });

  // The second build's own process (src/verify/second-build.ts): started by verify, not by users.
  program
    .command('verify-second-build', { hidden: true })
    .description("boxes verify's second build, in a process of its own")
    .argument('<handover>', 'the file boxes verify wrote')
    .action(async (file: string) => {
      const { options, io } = await handedOver(file);
      const report = await interruptible((signal) => build(options, { ...io, signal }));
      process.stdout.write(reportJson(report));
    });
}
