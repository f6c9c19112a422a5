/** `boxes reproduce`: rebuild artifacts from their build records and compare. */
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
    .description('rebuild artifacts from their build records (<artifact>.manifest.json) and compare digests')
    .argument('<records...>', 'build records; those differing only in profile are rebuilt side by side')
    .option('--output-dir <dir>', 'where the rebuilt artifact goes', 'reproduced')
    .option('--ignore-mismatch', "rebuild even when the config tree's commit or mkosi's version differs from the record's")
    .option('--single-uid', 'rootless without subordinate ids: mkosi maps one uid (a root-built record will not be matched)')
    .option('--mirror <url>', "the record's mirror with the credentials the record shows as ***")
    .addOption(new Option('--tools-tree <dir>', 'use this tools tree instead of the cached default').hideHelp())
    .option('--json', 'print the result as JSON on stdout')
    .option('--verbose', 'show every command and its output')
    .action(async (records: string[], o: RawReproduceOptions) => {
      const options = {
        records,
        outputDir: o.outputDir,
        ignoreMismatch: Boolean(o.ignoreMismatch),
        singleUid: Boolean(o.singleUid),
        mirror: o.mirror,
        toolsTree: o.toolsTree,
        json: Boolean(o.json),
        verbose: Boolean(o.verbose),
        archiveCheck: process.env.BOXES_ARCHIVE_CHECK !== 'off',
      };
      const r = await interruptible((signal) => reproduce(options, { signal }));
      const shown = r.results.map((x) => ({
        artifact: x.artifact.path,
        sha256: x.artifact.sha256,
        digest: x.artifact.digest ?? null,
        identical: x.identical,
        statement: x.statement,
      }));
      // One record gives one object (as it always did); several, an array in the records' order.
      process.stdout.write(
        o.json
          ? `${JSON.stringify(shown.length === 1 ? shown[0] : shown, null, 2)}\n`
          : shown.map((x) => `Reproduced ${x.artifact}: sha256 ${x.sha256} matches its record\nVerification statement: ${x.statement}\n`).join(''),
      );
    });
}
