/**
 * What `boxes test` proves about a booted image, as data: each check has a name that a failure
 * reports, and reads the guest through SSH or the guest agent.
 */
import { interfaceNames } from './agent.js';

export interface Guest {
  /** Runs a shell command as the login user; resolves with stdout, rejects on non-zero exit. */
  ssh(command: string): Promise<string>;
  agent(command: string): Promise<unknown>;
  /** Virtual size of the boot disk in bytes (the overlay's). */
  diskBytes: number;
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
  run(guest: Guest, facts: Facts): Promise<void>;
}

export interface Facts {
  identity?: Identity;
  cloudInitMarker?: string;
  cloudInitPasswordLogin?: () => Promise<void>;
}

export class CheckFailed extends Error {}

const fail = (why: string): never => {
  throw new CheckFailed(why);
};

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
      if (failed) fail(`failed units: ${failed.split('\n').map((l) => l.split(/\s+/)[0]).join(', ')}`);
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
      await g.ssh('sudo -n grep -qi cidata /run/cloud-init/ds-identify.log').catch(() =>
        fail("cloud-init's generator did not see the cidata seed (its disc appeared too late in the boot)"),
      );
      await g.ssh(`test -e ${facts.cloudInitMarker}`).catch(() => fail(`runcmd did not create ${facts.cloudInitMarker}`));
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
    name: 'root-grown',
    onlyGrowing: true,
    async run(g) {
      const rootBytes = Number((await g.ssh("df -B1 --output=size / | tail -n 1")).trim());
      // The ESP, the BIOS boot partition and ext4's own metadata take the rest.
      const expected = g.diskBytes - 600 * 2 ** 20;
      if (!(rootBytes >= expected * 0.95)) fail(`root is ${gib(rootBytes)} on a ${gib(g.diskBytes)} disk; it did not grow`);
    },
  },
];

const gib = (n: number) => `${(n / 2 ** 30).toFixed(1)} GiB`;

/** Two boots of one image must not share what each machine should own. */
export function identityProblems(a: Identity, b: Identity): string[] {
  const problems = [];
  if (a.machineId === b.machineId) problems.push(`both boots have machine-id ${a.machineId}`);
  if (a.hostKey === b.hostKey) problems.push('both boots have the same SSH host key');
  return problems;
}
