/** `boxes setup`: the pinned mkosi, and what the host has of what boxes needs. */
import type { Command } from 'commander';
import { formatChecks, setup } from '../setup/prerequisites.js';

export function registerSetup(program: Command): void {
  program
    .command('setup')
    .description('provision the pinned mkosi and check host prerequisites')
    .option('--check', 'only report; install nothing')
    .action(async (o: { check?: boolean }) => {
      const checks = await setup(Boolean(o.check));
      process.stdout.write(`${formatChecks(checks)}\n`);
      if (checks.some((c) => !c.ok && !c.optional)) process.exitCode = 1;
    });
}
