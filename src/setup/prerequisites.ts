/**
 * `boxes setup [--check]`. A host needs Node, Python, what mkosi bootstraps the Debian tools tree
 * with (apt, dpkg and Debian's keyring) and, for rootless builds, newuidmap/newgidmap with
 * subordinate ids. Every program boxes runs comes from the tools tree, so the rest of the report is
 * what the tree holds, and the few host services some commands drive (KVM, libvirt, gpg).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { findMkosi, PINNED, provisionMkosi } from '../adapters/mkosi.js';
import { findVagrantInsecureKey } from '../vagrant/insecure-key.js';
import { findOvmf } from '../vm/firmware.js';
import { onPath } from '../system/which.js';
import { BoxesError, PrerequisiteError } from '../system/errors.js';
import { describeBuildMode } from '../rootless/build-mode.js';
import { detectBuildMode } from '../rootless/namespace.js';
import { ifMissing, ifMissingOrDenied } from '../system/expected.js';
import { HOST_TOOLBOX, type Toolbox } from '../system/toolbox.js';
import { hostToolsAsked, openToolbox, toolboxOver, toolsTreeSpec } from '../image/toolbox.js';
import { toolsTreeKey } from '../image/tools-tree.js';
import { cachePaths } from '../system/paths.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** What to do, one line per distribution family where they differ. */
  fix?: string;
  /** Needed only by some commands; a missing one does not fail `boxes setup`. */
  optional?: boolean;
}

/** The same fix on Debian/Ubuntu, Fedora and Arch, one line each. */
export function perDistribution(debian: string, fedora: string, arch: string): string {
  return [`Debian/Ubuntu: ${debian}`, `Fedora: ${fedora}`, `Arch: ${arch}`].join('\n');
}

async function version(cmd: string, args: string[]): Promise<string | undefined> {
  const r = await execa(cmd, args, { reject: false, timeout: 20_000 });
  return r.failed ? undefined : `${String(r.stdout)}${String(r.stderr)}`.trim().split('\n')[0];
}

export function pythonOk(text: string | undefined): boolean {
  const m = /Python (\d+)\.(\d+)/.exec(text ?? '');
  return Boolean(m && (Number(m[1]) > 3 || (Number(m[1]) === 3 && Number(m[2]) >= 9)));
}

export function nodeOk(v: string): boolean {
  return Number(/^v?(\d+)/.exec(v)?.[1] ?? 0) >= 20;
}

/** Programs boxes runs from the tools tree, and the package of mkosi.conf's list that brings each. */
export const TREE_PROGRAMS: readonly (readonly [program: string, pkg: string, why: string])[] = [
  ['qemu-img', 'qemu-utils', 'hooks, audit, boxes test'],
  ['sfdisk', 'fdisk', 'audit'],
  ['debugfs', 'e2fsprogs', 'audit'],
  ['e2fsck', 'e2fsprogs', 'audit'],
  ['mcopy', 'mtools', 'audit'],
  ['minfo', 'mtools', 'audit'],
  ['qemu-system-x86_64', 'qemu-system', 'boxes test'],
  ['ssh', 'openssh-client', 'boxes test, executor'],
  ['ssh-keygen', 'openssh-client', 'boxes test, executor'],
  ['sshpass', 'sshpass', 'boxes test'],
  ['xorriso', 'xorriso', 'boxes test (cloud-init seed)'],
  ['diffoscope', 'diffoscope-minimal', 'verify'],
  ['skopeo', 'skopeo', 'publish'],
];

async function hostChecks(): Promise<Check[]> {
  const checks: Check[] = [];
  checks.push({ name: 'node >= 20', ok: nodeOk(process.version), detail: process.version, fix: 'install Node.js 20 or newer' });
  const py = await version('python3', ['--version']);
  checks.push({ name: 'python3 >= 3.9', ok: pythonOk(py), detail: py ?? 'not found', fix: perDistribution('apt-get install python3', 'dnf install python3', 'pacman -S python') });
  const userns = await readFile('/proc/sys/user/max_user_namespaces', 'utf8').catch(ifMissing('0'));
  const clone = await readFile('/proc/sys/kernel/unprivileged_userns_clone', 'utf8').catch(ifMissing('1'));
  checks.push({
    name: 'user namespaces',
    ok: Number(userns) > 0 && clone.trim() !== '0',
    detail: `max_user_namespaces=${userns.trim()}`,
    fix: 'sysctl user.max_user_namespaces=10000 kernel.unprivileged_userns_clone=1',
  });
  checks.push(await buildModeCheck());
  // mkosi bootstraps the Debian tools tree with the host's apt and dpkg; everything after runs from it.
  const bootstrap = perDistribution('apt-get install apt dpkg debian-archive-keyring', 'dnf install apt dpkg debian-keyring', 'pacman -S apt dpkg debian-archive-keyring');
  for (const tool of ['apt-get', 'dpkg']) {
    const v = await version(tool, ['--version']);
    checks.push({ name: `${tool} (bootstraps the tools tree)`, ok: v !== undefined, detail: v ?? 'not found', fix: bootstrap });
  }
  const keyring = await readFile('/usr/share/keyrings/debian-archive-keyring.gpg').then(() => true, ifMissingOrDenied(false));
  checks.push({ name: 'debian-archive-keyring', ok: keyring, detail: keyring ? 'present' : 'missing', fix: bootstrap });
  return checks;
}

/** Host services some commands drive: reported, never required. */
async function serviceChecks(): Promise<Check[]> {
  const kvm = existsSync('/dev/kvm');
  const libvirt = await onPath('virsh');
  const gpg = await onPath('gpg');
  const vagrant = await onPath('vagrant');
  return [
    {
      name: '/dev/kvm (fast boots)',
      ok: kvm,
      detail: kvm ? 'present (boxes test probes whether it works)' : 'absent: boxes test boots under TCG, several times slower',
      fix: 'enable virtualization in the firmware or the hypervisor, then: usermod -aG kvm $USER (every distribution)',
      optional: true,
    },
    {
      name: 'libvirt (boxes executor)',
      ok: libvirt,
      detail: libvirt ? 'virsh present' : 'not found: the executor runs job VMs under libvirtd',
      fix: perDistribution(
        'apt-get install libvirt-daemon-system libvirt-clients ovmf',
        'dnf install libvirt-daemon-kvm libvirt-client edk2-ovmf',
        'pacman -S libvirt qemu-base edk2-ovmf',
      ),
      optional: true,
    },
    {
      name: 'vagrant (to add the boxes)',
      ok: vagrant,
      detail: vagrant ? 'present' : 'not found: boxes builds and tests boxes without it; `vagrant box add` is your own',
      fix: perDistribution('apt-get install vagrant vagrant-libvirt', 'dnf install vagrant vagrant-libvirt', 'pacman -S vagrant, then vagrant plugin install vagrant-libvirt'),
      optional: true,
    },
    {
      name: 'gpg (--sign, --sign-by)',
      ok: gpg,
      detail: gpg ? 'present' : 'not found: signing uses your own keyring and agent',
      fix: perDistribution('apt-get install gnupg', 'dnf install gnupg2', 'pacman -S gnupg'),
      optional: true,
    },
  ];
}

/** Which way this user's builds run mkosi, and why; a refusal carries its fix. */
async function buildModeCheck(): Promise<Check> {
  try {
    return { name: 'build mode', ok: true, detail: describeBuildMode(await detectBuildMode({ singleUid: false })) };
  } catch (error) {
    if (!(error instanceof BoxesError)) throw error;
    const fix = perDistribution('apt-get install uidmap', 'dnf install shadow-utils', 'pacman -S shadow');
    return { name: 'build mode', ok: false, detail: `builds refused: ${error.message}`, fix: `${error.hint ?? ''}\n${fix}`.trim() };
  }
}

/** What the tools tree holds of the programs boxes runs; without a tree, the one line that builds it. */
async function toolsTreeChecks(tools: Toolbox | undefined, where: string): Promise<Check[]> {
  if (!tools) return [{ name: 'tools tree', ok: false, detail: `not built yet (${where})`, fix: 'boxes setup (builds it once: a few minutes, about 1.8 GB)' }];
  const checks: Check[] = [{ name: 'tools tree', ok: true, detail: tools.source }];
  const bin = (p: string) => ['usr/bin', 'usr/sbin', 'bin', 'sbin'].some((d) => existsSync(tools.file(join('/', d, p))));
  const fix = (pkg: string) => (tools.source === 'host' ? `install ${pkg}` : `add ${pkg} to ToolsTreePackages= in mkosi.conf, then boxes setup`);
  for (const [program, pkg, why] of TREE_PROGRAMS) {
    const ok = bin(program);
    checks.push({ name: `${program} (${why})`, ok, detail: ok ? 'in the tools tree' : 'missing', fix: fix(pkg) });
  }
  const ovmf = findOvmf(tools);
  checks.push({ name: 'OVMF (UEFI boots)', ok: ovmf !== undefined, detail: ovmf?.code ?? 'missing', fix: fix('ovmf') });
  const key = await findVagrantInsecureKey(tools);
  checks.push({ name: "Vagrant's insecure key (testing boxes)", ok: key !== undefined, detail: key ?? 'missing', fix: `${fix('vagrant')}; or set BOXES_VAGRANT_KEY` });
  return checks;
}

/** The toolbox when its tree exists (`--check` builds nothing); undefined when it does not yet. */
async function existingToolbox(): Promise<{ tools?: Toolbox; where: string }> {
  if (hostToolsAsked()) return { tools: HOST_TOOLBOX, where: 'BOXES_TOOLS=host' };
  const mkosi = await findMkosi().catch((error: unknown) => {
    if (error instanceof PrerequisiteError) return undefined;
    throw error;
  });
  if (!mkosi) return { where: 'mkosi is not provisioned' };
  const spec = await toolsTreeSpec(mkosi);
  const tree = join(cachePaths().tools, toolsTreeKey(spec, mkosi.version));
  return existsSync(join(tree, 'usr/bin')) ? { tools: await toolboxOver(tree, mkosi), where: tree } : { where: tree };
}

export async function setup(check: boolean, say?: (line: string) => void): Promise<Check[]> {
  const checks = await hostChecks();
  if (!check) {
    if (checks.some((c) => !c.ok && !c.optional && c.name.includes('bootstraps'))) return [...checks, ...(await serviceChecks())];
    await provisionMkosi();
    await openToolbox({ say });
  }
  const mkosi = await findMkosi().catch((error: unknown) => {
    if (error instanceof PrerequisiteError) return undefined;
    throw error;
  });
  checks.push({
    name: 'mkosi >= 25',
    ok: mkosi !== undefined,
    detail: mkosi ? `${mkosi.version} (${mkosi.source})` : 'not provisioned',
    fix: `boxes setup (downloads mkosi ${PINNED.version}, sha256-checked)`,
  });
  const { tools, where } = await existingToolbox();
  return [...checks, ...(await toolsTreeChecks(tools, where)), ...(await serviceChecks())];
}

export function formatChecks(checks: Check[]): string {
  const fixLines = (fix: string) => fix.split('\n').map((l, i) => `        ${i === 0 ? 'fix: ' : '     '}${l}`);
  return checks
    .map((c) => [`${c.ok ? 'ok     ' : c.optional ? 'missing' : 'MISSING'} ${c.name.padEnd(38)} ${c.detail}`, ...(c.ok || !c.fix ? [] : fixLines(c.fix))].join('\n'))
    .join('\n');
}
