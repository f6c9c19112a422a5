/** `boxes catalog`: the Vagrant catalog JSON for .box files. */
import type { Command } from 'commander';
import { writeFileAtomic } from '../system/write-atomic.js';
import { catalog, parseCatalogOptions, type RawCatalogOptions } from '../vagrant/catalog.js';

export function registerCatalog(program: Command): void {
  program
    .command('catalog')
    .description('write Vagrant catalog JSON for .box files, for `vagrant box add URL`')
    .argument('[boxes...]', '.box files (boxes of one distribution; versions are grouped)')
    .option('--name <org/name>', 'the box name users add, e.g. archlinux/archlinux')
    .option('--base-url <url>', 'where the .box files will be served (http://, https:// or file://)')
    .option('--description <text>', 'what the box is (default: the distribution, built with boxes)')
    .option('--version <version>', 'version for boxes whose file names do not carry one')
    .option('--output <file>', 'write the catalog here instead of stdout')
    .action(async (boxes: string[], raw: RawCatalogOptions) => {
      const options = parseCatalogOptions(raw, boxes);
      const text = `${JSON.stringify(await catalog(options), null, 2)}\n`;
      if (options.output) await writeFileAtomic(options.output, text);
      else process.stdout.write(text);
    });
}
