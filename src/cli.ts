#!/usr/bin/env node
/**
 * The `boxes` command line: one program of commands (src/commands/, one file per verb), and the
 * one place that turns what happened into an exit code and a line for the user.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { PINNED } from './adapters/mkosi.js';
import { registerAudit } from './commands/audit.js';
import { registerBuild } from './commands/build.js';
import { registerCatalog } from './commands/catalog.js';
import { registerClean } from './commands/clean.js';
import { registerExecutor } from './commands/executor.js';
import { registerList } from './commands/list.js';
import { registerPublish } from './commands/publish.js';
import { registerReproduce } from './commands/reproduce.js';
import { registerSetup } from './commands/setup.js';
import { registerTest } from './commands/test.js';
import { registerVerify } from './commands/verify.js';
import { exitCodeFor, formatError, printable, UsageError } from './system/errors.js';
import { boxesVersionSync } from './system/paths.js';

export function program(): Command {
  const cmd = new Command('boxes')
    .description('Build reproducible, rootless Linux OS images from one mkosi configuration')
    .version(`boxes ${boxesVersionSync()} (mkosi ${PINNED.version} pinned)`, '-V, --version', 'print the version and the pinned mkosi')
    // `boxes catalog --version V` is the catalog's own option: the program's come before the verb.
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError(false);
  for (const register of [
    registerList,
    registerSetup,
    registerClean,
    registerBuild,
    registerTest,
    registerVerify,
    registerAudit,
    registerReproduce,
    registerCatalog,
    registerPublish,
    registerExecutor,
  ])
    register(cmd);
  return cmd;
}

function writeJsonError(exitCode: number, message: string, hint?: string): void {
  process.stdout.write(`${JSON.stringify({ error: { exitCode, message, ...(hint ? { hint: printable(hint) } : {}) } }, null, 2)}\n`);
}

export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0) return 0;
      // commander already printed its one line; map it to our usage exit code.
      if (argv.includes('--json')) writeJsonError(2, printable(error.message.replace(/^error: /, '')));
      return 2;
    }
    process.stderr.write(`${formatError(error)}\n`);
    const code = exitCodeFor(error);
    // Bad input under --json: a machine reading stdout gets an error object, never an empty success.
    if (error instanceof UsageError && argv.includes('--json')) writeJsonError(code, printable(error.message), error.hint);
    return code;
  }
}

/** Run as the `boxes` binary (directly or through npm's symlink), not when imported. */
function isBinary(): boolean {
  const invoked = process.argv[1];
  return invoked !== undefined && realpathSync(invoked) === fileURLToPath(import.meta.url);
}

if (isBinary()) process.exit(await main(process.argv.slice(2)));
