/**
 * What `boxes test` proves about a booted image, as data: each check has a name that a failure
 * reports, and reads the guest through SSH or the guest agent. One file on purpose: the checks
 * are one table, in the order they run.
 */
import type { Distribution, ProfileSpec } from '../artifact/profiles.js';
import { ChildFailed, UsageError } from '../system/errors.js';
import { interfaceNames } from './agent.js';
import { KERNEL_UPGRADE_PLANS, newKernels, quietly } from './kernel-upgrade.js';

export interface Guest {
  /** Runs a shell command as the login user; resolves with stdout, rejects on non-zero exit. */
  ssh(command: string): Promise<string>;
  agent(command: string): Promise<unknown>;
  /** Virtual size of the boot disk in bytes (the overlay's). */
  diskBytes: number;
  distribution?: Distribution;
  /** Reboots the guest and resolves once SSH answers from the new boot. */
  reboot(): Promise<void>;
  /** The serial console's last lines, for a failure to show. */
  serialTail(): Promise<string[]>;
}

export interface Identity {
  machineId: string;
  hostKey: string;
}

export interface Check {
  name: string;
  /** Only for images whose root grows on first boot. */
  onlyGrowing?: boolean;
  /** Only where a seed made cloud-init do something visible. */
  onlyCloudInit?: boolean;
  /** Only for Vagrant boxes. */
  onlyVagrant?: boolean;
  /** Only for images booted with credentials (libvirt-executor). */
  onlyExecutor?: boolean;
  /** Runs only when named with --check (it needs the guest to reach its package mirror, say). */
  optIn?: boolean;
  /** Runs in the first boot only: it takes minutes under TCG and changes the machine for good. */
  once?: boolean;
  run(guest: Guest, facts: Facts): Promise<void>;
}

export interface Facts {
  identity?: Identity;
  /** The hostname handed over as a systemd credential. */
  credentialHostname?: string;
  cloudInitMarker?: string;
  cloudInitPasswordLogin?: () => Promise<void>;
}

export class CheckFailed extends Error {
  constructor(
    message: string,
    /** What the guest showed: a command's last output lines or the serial console's. */
    readonly tail: string[] = [],
  ) {
    super(message);
  }
}

/** `.catch(failsWith(why))`: a guest command that failed is the check's failure; anything else is boxes' own. */
const failsWith = (why: string) => (error: unknown) => {
  if (error instanceof ChildFailed) fail(why);
  throw error;
};

const fail = (why: string, tail?: string[]): never => {
  throw new CheckFailed(why, tail);
};

/** Runs one step of a check in the guest; a failure names the step and keeps its last output. */
async function step(g: Guest, what: string, command: string): Promise<string> {
  return g.ssh(quietly(command)).catch((e: Error & { logTail?: string[] }) => fail(`${what} failed: ${e.message.split('\n')[0]}`, e.logTail));
}

export const CHECKS: readonly Check[] = [
  {
    name: 'boot-finished',
    async run(g) {
      // `--wait` returns once the boot transaction is over: running, or degraded with failures.
      const state = (await g.ssh('systemctl is-system-running --wait || true')).trim();
      if (state !== 'running' && state !== 'degraded') fail(`system state is '${state}'`);
    },
  },
  {
    name: 'sudo',
    async run(g) {
      await g.ssh('sudo -n true').catch((e: Error) => fail(`sudo -n true failed: ${e.message}`));
    },
  },
  {
    name: 'no-failed-units',
    async run(g) {
      const failed = (await g.ssh('systemctl list-units --failed --plain --no-legend --no-pager')).trim();
      if (failed)
        fail(
          `failed units: ${failed
            .split('\n')
            .map((l) => l.split(/\s+/)[0])
            .join(', ')}`,
        );
    },
  },
  {
    // systemd breaks an ordering cycle by dropping one of its jobs, not always the same one, so a
    // cycle shows as a unit that only sometimes starts; the journal names every cycle it found.
    name: 'no-ordering-cycles',
    async run(g) {
      const cycles = (await g.ssh("sudo -n journalctl -b -o cat --no-pager | grep -i 'ordering cycle' || true")).trim();
      if (cycles) fail(`systemd found ordering cycles: ${cycles.split('\n').slice(0, 3).join(' | ')}`);
    },
  },
  {
    name: 'guest-agent',
    async run(g) {
      const names = interfaceNames(await g.agent('guest-network-get-interfaces'));
      if (!names.includes('lo')) fail(`guest-network-get-interfaces listed ${names.join(', ') || 'nothing'}, not lo`);
    },
  },
  {
    name: 'swap',
    async run(g) {
      const swaps = await g.ssh('cat /proc/swaps');
      if (!swaps.includes('/swap/swapfile')) fail('the swap file is not active');
    },
  },
  {
    name: 'first-boot-identity',
    async run(g, facts) {
      const machineId = (await g.ssh('cat /etc/machine-id')).trim();
      if (!/^[0-9a-f]{32}$/.test(machineId)) fail(`machine-id is '${machineId}', not a generated id`);
      const hostKey = (await g.ssh('cat /etc/ssh/ssh_host_ed25519_key.pub')).trim().split(/\s+/).slice(0, 2).join(' ');
      if (!hostKey.startsWith('ssh-ed25519 ')) fail('no ED25519 host key was generated');
      facts.identity = { machineId, hostKey };
    },
  },
  {
    name: 'cloud-init-user-data',
    onlyCloudInit: true,
    async run(g, facts) {
      const status = (await g.ssh('cloud-init status --wait >/dev/null 2>&1; cloud-init status || true')).trim();
      if (!/status: done/.test(status)) fail(`cloud-init ${status.replace(/\s+/g, ' ')}`);
      // The generator runs before the root filesystem's udev: the seed must be visible to it, not
      // found later by luck (a disc that appears late makes cloud-init skip NoCloud altogether).
      await g
        .ssh('sudo -n grep -qi cidata /run/cloud-init/ds-identify.log')
        .catch(failsWith("cloud-init's generator did not see the cidata seed (its disc appeared too late in the boot)"));
      await g.ssh(`test -e ${facts.cloudInitMarker}`).catch(failsWith(`runcmd did not create ${facts.cloudInitMarker}`));
      await facts.cloudInitPasswordLogin?.().catch((e: Error) => fail(`the password from user-data does not log in: ${e.message}`));
    },
  },
  {
    // What `vagrant up` relies on: sshd accepts the insecure keys only from a private ~/.ssh.
    name: 'vagrant-conventions',
    onlyVagrant: true,
    async run(g) {
      const modes = (await g.ssh('stat -c "%U %a" ~/.ssh ~/.ssh/authorized_keys')).trim().split('\n');
      if (modes[0] !== 'vagrant 700' || modes[1] !== 'vagrant 600') fail(`~/.ssh and authorized_keys are '${modes.join("', '")}', not 'vagrant 700', 'vagrant 600'`);
      const keys = (await g.ssh('cat ~/.ssh/authorized_keys')).split('\n').map((l) => l.split(' ')[0]);
      if (!keys.includes('ssh-rsa') || !keys.includes('ssh-ed25519')) fail(`authorized_keys holds ${keys.filter(Boolean).join(', ')}, not the RSA and ED25519 insecure keys`);
      const useDns = (await g.ssh('sudo -n sshd -T | grep -i "^usedns"')).trim().toLowerCase();
      if (useDns !== 'usedns no') fail(`sshd has '${useDns}'`);
    },
  },
  {
    // What `boxes executor` relies on: the credentials it hands each job's VM take effect, and
    // nothing but a key lets anyone in.
    name: 'executor-credentials',
    onlyExecutor: true,
    async run(g, facts) {
      const hostname = (await g.ssh('cat /proc/sys/kernel/hostname')).trim();
      if (hostname !== facts.credentialHostname) fail(`the hostname is '${hostname}', not '${facts.credentialHostname}' from the system.hostname credential`);
      const keys = (await g.ssh('cat /root/.ssh/authorized_keys')).trim().split('\n');
      if (keys.length !== 1 || !keys[0]!.endsWith(' boxes-test')) fail(`/root/.ssh/authorized_keys holds ${keys.length} keys, not just the one from the credential`);
      const sshd = (await g.ssh('sshd -T')).toLowerCase();
      for (const [key, want] of [
        ['passwordauthentication', 'no'],
        ['kbdinteractiveauthentication', 'no'],
        ['permitrootlogin', '(without|prohibit)-password'],
      ] as const)
        if (!new RegExp(`^${key} ${want}$`, 'm').test(sshd)) fail(`sshd has '${new RegExp(`^${key} .*$`, 'm').exec(sshd)?.[0] ?? `no ${key}`}', not '${key} ${want}'`);
    },
  },
  {
    name: 'executor-conventions',
    onlyExecutor: true,
    async run(g) {
      const cmdline = await g.ssh('cat /proc/cmdline');
      if (!/\blockdown=confidentiality\b/.test(cmdline)) fail('lockdown=confidentiality is not on the kernel command line');
      const lockdown = (await g.ssh('cat /sys/kernel/security/lockdown')).trim();
      if (!lockdown.includes('[confidentiality]')) fail(`kernel lockdown is '${lockdown}'`);
      const held = g.distribution === 'arch' ? await g.ssh('pacman-conf IgnorePkg') : await g.ssh('apt-mark showhold');
      const kernel = g.distribution === 'arch' ? 'linux' : 'linux-image-amd64';
      if (!held.split('\n').includes(kernel)) fail(`${kernel} is not held (held: ${held.trim().split('\n').join(', ') || 'nothing'})`);
      const tools = g.distribution === 'arch' ? ['git', 'git-lfs', 'gitlab-runner'] : ['git', 'git-lfs'];
      const missing = (await g.ssh(`for t in ${tools.join(' ')}; do command -v "$t" >/dev/null || echo "$t"; done`)).trim();
      if (missing) fail(`missing: ${missing.split('\n').join(', ')}`);
      const waitSync = (await g.ssh('systemctl is-enabled systemd-time-wait-sync.service || true')).trim();
      if (waitSync !== 'masked') fail(`systemd-time-wait-sync.service is '${waitSync}', not masked`);
    },
  },
  {
    // A kernel installed in the guest boots next, and the build-time one can go (see
    // /usr/lib/boxes/grub-config in the image).
    name: 'kernel-upgrade',
    optIn: true,
    once: true,
    async run(g) {
      if (!g.distribution) return fail('cannot tell which distribution the guest runs (pass --distribution)');
      const plan = KERNEL_UPGRADE_PLANS[g.distribution];
      // Arch's keyring is made by a first-boot unit; nothing may race it.
      await g.ssh('systemctl is-system-running --wait >/dev/null 2>&1 || true');
      const old = (await g.ssh('uname -r')).trim();
      const before = await g.ssh('ls -1 /usr/lib/modules');
      await step(g, `installing ${plan.package}`, plan.install);
      const added = newKernels(before, await g.ssh('ls -1 /usr/lib/modules'));
      if (added.length !== 1) fail(`installing ${plan.package} added ${added.length === 0 ? 'no kernel' : `${added.length} kernels (${added.join(', ')})`} to /usr/lib/modules`);
      const target = added[0]!;
      await step(g, `removing the build-time kernel ${old}`, plan.remove(old));
      const leftover = (await g.ssh(`test -e /usr/lib/modules/${old}/modules.dep && echo present || true`)).trim();
      if (leftover) fail(`the build-time kernel's modules (/usr/lib/modules/${old}) are still installed after its removal`);
      const entries = [...(await g.ssh('sudo -n grep "^menuentry" /boot/grub/boxes-kernels.cfg 2>/dev/null || true')).matchAll(/^menuentry '([^']*)'/gm)].map((m) => m[1]!);
      if (!entries[0]?.endsWith(`Linux ${target}`))
        fail(`/boot/grub/boxes-kernels.cfg does not boot ${target} first after the install (${entries.length > 0 ? `its entries: ${entries.join('; ')}` : 'it has no entries'})`);
      await g.reboot();
      const running = (await g.ssh('uname -r')).trim();
      if (running !== target) fail(`after the reboot the guest runs ${running}, not ${target} (installed with ${plan.package})`, await g.serialTail());
      await step(g, `modprobe loop on ${running}`, 'sudo -n modprobe loop');
      const loop = (await g.ssh(LOOP_STATE)).trim();
      if (loop !== 'loaded' && loop !== 'built-in') fail(`modprobe loop succeeded on ${running} but lsmod does not list loop`);
    },
  },
  {
    name: 'root-grown',
    onlyGrowing: true,
    async run(g) {
      const rootBytes = Number((await g.ssh('df -B1 --output=size / | tail -n 1')).trim());
      // The ESP, the BIOS boot partition and ext4's own metadata take the rest.
      const expected = g.diskBytes - 600 * 2 ** 20;
      if (!(rootBytes >= expected * 0.95)) fail(`root is ${gib(rootBytes)} on a ${gib(g.diskBytes)} disk; it did not grow`);
    },
  },
];

/**
 * The checks a run makes, from --check's entries: bare names replace the default set, `+name` adds
 * to it (or to the bare names) and `-name` takes away, so `+kernel-upgrade` is every default check
 * and the upgrade, and `-first-boot-identity` every default one but the identity comparison. Every
 * name must exist and apply to the profile; what is left must not be empty. Usage errors otherwise.
 */
export function selectChecks(spec: ProfileSpec, entries?: readonly string[]): Check[] {
  const applies = (c: Check) =>
    !((c.onlyGrowing || c.onlyCloudInit) && spec.name !== 'cloud-init') && !(c.onlyVagrant && !spec.login?.vagrantKey) && !(c.onlyExecutor && !spec.login?.credentials);
  const problems: string[] = [];
  const lookup = (name: string) => {
    const check = CHECKS.find((c) => c.name === name);
    if (!check) problems.push(`unknown check '${name}' (valid: ${CHECKS.map((c) => c.name).join(', ')})`);
    else if (!applies(check)) problems.push(`check '${name}' does not apply to ${spec.name} images`);
    return check;
  };
  const parsed = (entries ?? []).map((e) => ({ sign: e[0] === '+' || e[0] === '-' ? e[0] : '', check: lookup(e.replace(/^[+-]/, '')) }));
  const bare = parsed.filter((p) => p.sign === '').map((p) => p.check);
  const base = bare.length > 0 ? bare : CHECKS.filter((c) => !c.optIn && applies(c));
  const added = parsed.filter((p) => p.sign === '+').map((p) => p.check);
  const skipped = parsed.filter((p) => p.sign === '-').map((p) => p.check);
  if (problems.length > 0) throw new UsageError(problems.join('; '));
  const chosen = CHECKS.filter((c) => (base.includes(c) || added.includes(c)) && !skipped.includes(c));
  if (chosen.length === 0) throw new UsageError(`--check ${entries!.join(',')} leaves no check to run`);
  return chosen;
}

// Modular in most kernels (lsmod lists it), built in to some (modules.builtin names it).
const LOOP_STATE = 'if lsmod | grep -q "^loop "; then echo loaded; elif grep -q "/loop.ko" "/usr/lib/modules/$(uname -r)/modules.builtin"; then echo built-in; fi';

const gib = (n: number) => `${(n / 2 ** 30).toFixed(1)} GiB`;

/** Two boots of one image must not share what each machine should own. */
export function identityProblems(a: Identity, b: Identity): string[] {
  const problems = [];
  if (a.machineId === b.machineId) problems.push(`both boots have machine-id ${a.machineId}`);
  if (a.hostKey === b.hostKey) problems.push('both boots have the same SSH host key');
  return problems;
}
