/**
 * The `kernel-upgrade` check: the guest installs another kernel from its mirror, removes the one it
 * was built with, reboots, and must come back on the new kernel with working modules. What each
 * distribution runs is data, so that the commands are tested without a VM.
 */
import type { Distribution } from '../artifact/profiles.js';

export interface KernelUpgradePlan {
  /** Installs another kernel (and whatever the distribution's upgrade brings along). */
  install: string;
  /** Removes the kernel the image was built with; `$old` is its `uname -r`. */
  remove: (old: string) => string;
  /** What a failure names: the package the plan installs. */
  package: string;
}

// Debian asks before removing the running kernel and, asked by nobody, aborts; the answer is given.
const DEBIAN_KEEP_GOING = "echo 'linux-base linux-base/removing-running-kernel boolean false' | debconf-set-selections";

export const KERNEL_UPGRADE_PLANS: Record<Distribution, KernelUpgradePlan> = {
  debian: {
    package: 'linux-image-cloud-amd64',
    // Without recommends, as mkosi installed the image's own packages: the kernel recommends
    // AppArmor, which would change the next boot beyond its kernel (and took 40 s of TCG more).
    install: 'sudo -n env DEBIAN_FRONTEND=noninteractive sh -c "apt-get update -q && apt-get install -y -q --no-install-recommends linux-image-cloud-amd64"',
    remove: (old) => `sudo -n env DEBIAN_FRONTEND=noninteractive sh -c "${DEBIAN_KEEP_GOING} && apt-get purge -y -q linux-image-amd64 ${shellWord(`linux-image-${old}`)}"`,
  },
  arch: {
    package: 'linux-lts',
    // Arch supports no partial upgrades: the new kernel comes with the rest of the system.
    install: 'sudo -n pacman -Syu --noconfirm linux-lts',
    remove: () => 'sudo -n pacman -R --noconfirm linux',
  },
};

/** Runs `command` in the guest with its output kept in a file, so a failure can show its end. */
export function quietly(command: string): string {
  return `log=$(mktemp) && (${command}) >"$log" 2>&1 || { status=$?; tail -n 15 "$log"; exit $status; }; rm -f "$log"`;
}

/** The module directories `ls -1 /usr/lib/modules` printed after the install but not before. */
export function newKernels(before: string, after: string): string[] {
  const had = new Set(lines(before));
  return lines(after).filter((k) => !had.has(k));
}

const lines = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

function shellWord(word: string): string {
  if (!/^[A-Za-z0-9.+_-]+$/.test(word)) throw new Error(`unexpected kernel release '${word}'`);
  return word;
}
