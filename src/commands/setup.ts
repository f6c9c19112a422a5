/** `boxes setup`: the pinned mkosi, and what the host has of what boxes needs. */
import type { Command } from 'commander';
import { formatChecks, setup } from '../setup/prerequisites.js';

export function registerSetup(program: Command): void {
  program
    .command('setup')
    .description('provision the pinned mkosi and the tools tree every program boxes runs comes from; report what the host has')
    .option('--check', 'only report; download and build nothing')
    .action(async (o: { check?: boolean }) => {
      const checks = await setup(Boolean(o.check), (line) => process.stderr.write(`boxes: ${line}\n`));
      process.stdout.write(`${formatChecks(checks)}\n`);
      if (checks.some((c) => !c.ok && !c.optional)) process.exitCode = 1;
    });
}
