/** `boxes reproduce`: rebuild an artifact from its build record and compare. */
import { Option, type Command } from 'commander';
import { reproduce } from '../verify/reproduce.js';
import { interruptible } from './shared.js';

interface RawReproduceOptions {
  outputDir: string;
  ignoreMismatch?: boolean;
  singleUid?: boolean;
  mirror?: string;
  toolsTree?: string;
  json?: boolean;
  verbose?: boolean;
}

export function registerReproduce(program: Command): void {
  program
    .command('reproduce')
    .description('rebuild an artifact from its build record (<artifact>.manifest.json) and compare digests')
    .argument('<record>', 'the build record')
    .option('--output-dir <dir>', 'where the rebuilt artifact goes', 'reproduced')
    .option('--ignore-mismatch', "rebuild even when the config tree's commit or mkosi's version differs from the record's")
    .option('--single-uid', 'rootless without subordinate ids: mkosi maps one uid (a root-built record will not be matched)')
    .option('--mirror <url>', "the record's mirror with the credentials the record shows as ***")
    .addOption(new Option('--tools-tree <dir>', 'use this tools tree instead of the cached default').hideHelp())
    .option('--json', 'print the result as JSON on stdout')
    .option('--verbose', 'show every command and its output')
    .action(async (record: string, o: RawReproduceOptions) => {
      const options = {
        record,
        outputDir: o.outputDir,
        ignoreMismatch: Boolean(o.ignoreMismatch),
        singleUid: Boolean(o.singleUid),
        mirror: o.mirror,
        toolsTree: o.toolsTree,
        json: Boolean(o.json),
        verbose: Boolean(o.verbose),
      };
      const r = await interruptible((signal) => reproduce(options, { signal }));
      const a = r.build.artifacts[0]!;
      process.stdout.write(
        o.json
          ? `${JSON.stringify({ artifact: a.path, sha256: a.sha256, digest: a.digest ?? null, identical: r.identical, statement: r.statement }, null, 2)}\n`
          : `Reproduced ${a.path}: sha256 ${a.sha256} matches its record\nVerification statement: ${r.statement}\n`,
      );
    });
}
