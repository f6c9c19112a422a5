/** `boxes clean`: the caches, removed. */
import type { Command } from 'commander';
import { clean } from '../image/clean.js';

export function registerClean(program: Command): void {
  program
    .command('clean')
    .description('remove the cached package installations (and with --all every cache: downloads, tools trees, mkosi)')
    .option('--all', 'also the package downloads, tools trees, apt sources and the pinned mkosi')
    .option('--single-uid', 'the caches were made by --single-uid builds')
    .action(async (o: { all?: boolean; singleUid?: boolean }) => {
      const removed = await clean({ all: Boolean(o.all), singleUid: o.singleUid });
      process.stdout.write(removed.length ? `${removed.map((d) => `removed ${d}`).join('\n')}\n` : 'nothing to remove\n');
    });
}
