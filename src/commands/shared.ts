/** What several commands share: the build options, the warnings they earn, and running under Ctrl-C. */
import { Option, type Command } from 'commander';
import type { BuildOptions } from '../plan/options.js';
import { interruptController } from '../system/signals.js';

/** Runs `f` with a signal that SIGINT and SIGTERM abort (exit 130 through the InterruptedError it carries). */
export async function interruptible<T>(f: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const interrupt = interruptController();
  try {
    return await f(interrupt.signal);
  } finally {
    interrupt.dispose();
  }
}

/** Options that change what a build proves get a warning line before anything runs. */
export function warnAbout(options: BuildOptions): void {
  if (!options.repositoryKeyCheck) process.stderr.write('boxes: warning: repository key checks are off; use this only with local test repositories\n');
  if (options.singleUid && process.getuid?.() !== 0)
    process.stderr.write('boxes: warning: --single-uid: mkosi cannot chown, so files owned by other users or groups become root-owned and artifacts differ from a root build\n');
}

/** The options `boxes build` and `boxes verify` share. */
export function withBuildOptions(command: Command, outputDir: string): Command {
  return command
    .option('--profile <profiles>', 'comma-separated profiles (see `boxes list`)')
    .option('--all', 'every profile')
    .option('--distribution <name>', 'arch or debian (default: the host distribution)')
    .option('--release <name>', 'distribution release (Debian default: trixie)')
    .option('--variant <name>', 'container variant: base, base-devel or multilib-devel')
    .option('--mirror <url>', 'package mirror; Arch also takes file:///path local repositories')
    .option('--snapshot <YYYY-MM-DD>', 'pin to a dated archive (Arch: archive.archlinux.org, Debian: snapshot.debian.org)')
    .option('--source-date-epoch <seconds>', 'timestamp for every file and record (default: the snapshot day, else today 00:00 UTC)')
    .option('--seed <uuid>', 'seed for partition and filesystem UUIDs (default: Seed= in mkosi.conf)')
    .option('--build-version <version>', 'version in artifact names (default: YYYYMMDD.0 of SOURCE_DATE_EPOCH)')
    .option('--qcow2-compression <zlib|zstd>', 'how the qcow2 images compress their clusters (default: zlib, which every QEMU reads; zstd needs QEMU 5.1)')
    .option('--output-dir <dir>', 'where artifacts go', outputDir)
    .option('--jobs <n>', 'image builds at once, 1 to 64 (default: the CPUs); targets sharing a package set wait for the first')
    .addOption(new Option('--tools-tree <dir>', 'use this tools tree instead of the cached default').hideHelp())
    .option('--no-repository-key-check', 'skip package signature checks (local test repositories only)')
    .option('--keyring-anchor <dir>', "Arch: trust the master keys this anchor certified (scripts/keyring-anchor.sh) instead of the tree's")
    .option('--single-uid', 'rootless without subordinate ids: mkosi maps one uid and cannot chown (file owners differ from a root build)')
    .option('--json', 'print a machine-readable summary on stdout')
    .option('--verbose', 'show every command and its output');
}
