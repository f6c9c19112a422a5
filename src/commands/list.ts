/** `boxes list`: profiles, variants, distributions and what each produces. */
import type { Command } from 'commander';
import { formatListing, listing } from '../artifact/listing.js';

export function registerList(program: Command): void {
  program
    .command('list')
    .description('profiles, variants, distributions and the artifacts each produces')
    .option('--json', 'machine-readable output')
    .action((o: { json?: boolean }) => {
      process.stdout.write(o.json ? `${JSON.stringify(listing(), null, 2)}\n` : `${formatListing()}\n`);
    });
}
