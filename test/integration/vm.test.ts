// Real mkosi builds of the Debian VM images, booted in QEMU by `boxes test` (BIOS and UEFI, with
// SSH, sudo, units, guest agent and first-boot identity checks). One root build makes basic and
// cloud-init together (sharing the installed package set); the single-profile builds that must
// give the same bytes are rootless: cloud-init on its own (beside the root build: each has its own
// cache), basic by `boxes verify` (then again under every variation, beside the root rebuild of
// basic after an edit). basic is upgraded to another kernel in the guest; cloud-init boots with its
// seed. Builds run side by side, boots never beside a build. The libvirt-executor image has its
// own suite (executor.test.ts).
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  awaitedLater,
  boxesRaw,
  buildAsync,
  buildRootlessAsync,
  cache,
  projectCopy,
  root,
  sh,
  sharedToolsTree,
  VERSION,
  verifyRootlessAsync,
  workDir,
  type Built,
  type Verified,
} from '../support/cli.js';
import { explainDifference } from '../../src/verify/differences.js';
import { toolboxFor } from '../../src/image/toolbox.js';
import { openDisk } from '../support/disk-files.js';
import { boxesTest, expectOneBoot, ONE_BOOT, type TestJson } from '../support/boot-test.js';
import { installCacheKey } from '../../src/image/install-cache.js';
import { optionsFor, recordOf } from '../support/records.js';

const work = workDir();
const debian = ['--distribution', 'debian'];
let toolsTree: string;
/** The root build of basic and cloud-init together: every other build is compared with it. */
let matrix: Built;
/** cloud-init built alone, rootless. */
let cloudAlone: Built;

function expectAllChecks(report: TestJson, checks: string[]) {
  for (const boot of ['bios#1', 'uefi#2'])
    for (const check of checks) expect(report.results, `${check} on ${boot}`).toContainEqual(expect.objectContaining({ boot, check, ok: true }));
  expect(report.results).toContainEqual(expect.objectContaining({ boot: 'both', check: 'unique-identity', ok: true }));
}

const COMMON_CHECKS = ['boot-finished', 'sudo', 'no-failed-units', 'no-ordering-cycles', 'guest-agent', 'swap', 'first-boot-identity'];

beforeAll(async () => {
  [matrix, cloudAlone] = await Promise.all([
    buildAsync(['--profile', 'basic,cloud-init', ...debian, '--output-dir', join(work, 'basic-a')]),
    buildRootlessAsync(['--profile', 'cloud-init', ...debian], join(work, 'cloud'), sharedToolsTree()),
  ]);
  toolsTree = matrix.toolsTree;
});

describe('debian basic image', () => {
  let first: Built;
  beforeAll(() => {
    first = { ...matrix, artifacts: [matrix.artifacts[0]!] };
  });

  it('is a 40 GiB compressed qcow2 with its checksum, and no raw disk next to it', () => {
    const path = first.artifacts[0]!.path;
    expect(path).toMatch(/\/Debian-13-x86_64-basic-20251123\.0\.qcow2$/);
    const info = JSON.parse(sh('qemu-img', ['info', '--output=json', path]));
    expect(info.format).toBe('qcow2');
    expect(info['virtual-size']).toBeGreaterThan(39.5 * 2 ** 30);
    expect(info['virtual-size']).toBeLessThanOrEqual(40 * 2 ** 30);
    expect(info['actual-size']).toBeLessThan(2 * 2 ** 30);
    expect(readFileSync(`${path}.SHA256`, 'utf8')).toBe(`${first.artifacts[0]!.sha256}  Debian-13-x86_64-basic-${VERSION}.qcow2\n`);
    expect(
      sh('ls', [join(work, 'basic-a')])
        .split('\n')
        .filter((n) => n.endsWith('.raw')),
    ).toEqual([]);
  });

  it('ships no host keys, an uninitialized machine-id, the user and arch-boxes settings', () => {
    const disk = openDisk(first.artifacts[0]!.path, work);
    try {
      expect(disk.partitions.map((p) => p.type.toUpperCase())).toEqual([
        '21686148-6449-6E6F-744E-656564454649',
        'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
        '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709',
      ]);
      expect(disk.rootList('/etc/ssh').filter((n) => n.startsWith('ssh_host_'))).toEqual([]);
      expect(disk.root('/etc/machine-id')).toBe('uninitialized\n');
      expect(disk.root('/etc/passwd')).toMatch(/^debian:x:1000:1000::\/home\/debian:\/bin\/bash$/m);
      expect(disk.root('/etc/shadow')).toMatch(/^root:!:/m);
      expect(disk.root('/etc/sudoers.d/10-boxes-debian')).toBe('debian ALL=(ALL) NOPASSWD: ALL\n');
      expect(disk.root('/etc/hostname').trim()).toBe('debian');
      expect(disk.root('/etc/locale.conf')).toContain('LANG=C.UTF-8');
      expect(disk.root('/etc/systemd/network/80-dhcp.network')).toContain('DHCP=yes');
      expect(disk.rootList('/var/log')).toEqual([]);
      const grub = disk.esp('/grub/grub.cfg');
      expect(grub).toMatch(/linux .* rw net\.ifnames=0 console=tty0 console=ttyS0,115200/);
      expect(disk.esp('/grub/i386-pc/serial.mod').length).toBeGreaterThan(0);
      expect(disk.esp('/grub/x86_64-efi/serial.mod').length).toBeGreaterThan(0);
      expect(disk.esp('/EFI/BOOT/BOOTX64.EFI').length).toBeGreaterThan(0);
      // Kernels installed in the guest: the ESP's grub.cfg reads their entries before mkosi's
      // build-time one, and GRUB parses it all; the kernel hooks and their generator are there.
      expect(grub.indexOf('source "$prefix/boxes-kernels.cfg"')).toBeGreaterThan(-1);
      expect(grub.indexOf('source "$prefix/boxes-kernels.cfg"')).toBeLessThan(grub.indexOf('menuentry'));
      const cfg = join(work, 'esp-grub.cfg');
      writeFileSync(cfg, grub);
      expect(execFileSync('grub-script-check', [cfg], { encoding: 'utf8' })).toBe('');
      expect(disk.root('/usr/lib/boxes/grub-config')).toMatch(/^#!\/bin\/sh\n/);
      expect(disk.root('/etc/kernel/postinst.d/zz-boxes-grub-config')).toContain('/usr/lib/boxes/grub-config || true');
      expect(disk.root('/etc/kernel/postrm.d/zz-boxes-grub-config')).toContain('/usr/lib/boxes/grub-config || true');
      expect(disk.rootList('/boot')).toEqual([]);
    } finally {
      disk.close();
    }
  });

  // One run of two boots: every default check in both, and the kernel upgrade (which runs once)
  // in the first, the BIOS boot, after them. The README says what was run under UEFI.
  let booted: TestJson | undefined;
  const bootReport = () => (booted ??= boxesTest('basic', first.artifacts[0]!.path, work, ['--check', '+kernel-upgrade']));

  it('boots under BIOS and UEFI and passes every check', () => {
    expectAllChecks(bootReport(), COMMON_CHECKS);
  });

  // The guest reaches Debian's archive through QEMU's user networking.
  it('survives a kernel upgrade in the same boot: a new kernel installed in the guest boots, the build-time one is purged', () => {
    const upgrades = bootReport().results.filter((r) => r.check === 'kernel-upgrade');
    expect(upgrades).toEqual([expect.objectContaining({ boot: 'bios#1', check: 'kernel-upgrade', ok: true })]);
  });

  // The root rebuild after an edit and the rootless verify, side by side (after the boots): each
  // has its own cache.
  let rebuilds: { edited: () => Promise<Built>; verified: () => Promise<Verified> } | undefined;
  const startRebuilds = () =>
    (rebuilds ??= {
      edited: awaitedLater(
        (async () => {
          const project = await projectCopy(mkdtempSync(join(work, 'edited-')));
          appendFileSync(join(project, 'mkosi.vm/mkosi.extra/etc/systemd/network/80-dhcp.network'), '# edited\n');
          return buildAsync(['--profile', 'basic', ...debian, '--output-dir', join(work, 'basic-edited')], { cli: join(project, 'dist/cli.js') });
        })(),
      ),
      verified: awaitedLater(verifyRootlessAsync(['--profile', 'basic', ...debian], join(work, 'basic-b'), toolsTree)),
    });

  // Incremental: the edited tree's build copies the package set the first build cached, and its
  // image differs from the first in the edited file alone.
  it('rebuilds after one extra-tree file changed from the cached package set, and differs in that file alone', async () => {
    const edited = (await startRebuilds().edited()).artifacts[0]!;
    expect(edited.packages).toBe('cached');
    const compare = mkdtempSync(join(work, 'compare-'));
    // The suites' mkosi reads the tools tree the builds used.
    vi.stubEnv('BOXES_CACHE_DIR', cache);
    expect(await explainDifference(first.artifacts[0]!.path, edited.path, compare, await toolboxFor(first.toolsTree))).toEqual([
      expect.stringMatching(/^disk: first difference at byte \d+, in partition 3 \(type 4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709\)$/),
      'root filesystem /etc/systemd/network/80-dhcp.network: size differs',
    ]);
  });

  // boxes verify as the rootless user: its first build is compared with the root build, its second
  // build varies everything this machine allows (the ESP's order followed the workspace's filesystem).
  it('is byte-for-byte reproducible: rootless, and again with workspace on tmpfs, another umask, TZ, locale, hostname and one CPU, it gives the root build and its record', async () => {
    const report = await startRebuilds().verified();
    expect(report.variations.map((v) => v.name)).toEqual(['path', 'filesystem', 'umask', 'timezone', 'locale', 'hostname', 'cpus']);
    const [result] = report.artifacts;
    expect(result!.identical, JSON.stringify(result)).toBe(true);
    expect(result!.sha256[0]).toBe(first.artifacts[0]!.sha256);
    expect(readFileSync(`${result!.artifact}.manifest.json`, 'utf8')).toBe(readFileSync(`${first.artifacts[0]!.path}.manifest.json`, 'utf8'));
  });
});

describe('debian cloud-init image, built rootless', () => {
  let image: string;
  let sha256: string;
  beforeAll(() => {
    image = cloudAlone.artifacts[0]!.path;
    sha256 = cloudAlone.artifacts[0]!.sha256;
  });

  // One root build of two profiles sharing the installed package set: each artifact is the one its
  // single-profile build gives (basic: boxes verify's rootless build above; cloud-init: this one).
  it('is byte-for-byte the image the root build of basic and cloud-init together gives', () => {
    expect(matrix.artifacts.map((a) => a.path.split('/').at(-1))).toEqual([`Debian-13-x86_64-basic-${VERSION}.qcow2`, `Debian-13-x86_64-cloudimg-${VERSION}.qcow2`]);
    expect(matrix.artifacts[1]!.sha256).toBe(sha256);
    expect(cloudAlone.toolsTree).toBe(toolsTree);
    // cloud-init copied the package set basic left (basic's own may be new if the archive published since).
    expect(matrix.artifacts[1]!.packages).toBe('cached');
  });

  // One UEFI boot: basic's pair of boots already proves BIOS and the identities of two boots with
  // the same boot chain; what cloud-init adds (seed, logins, runcmd, growth) needs one boot.
  it('is small, ships no identity, and boots under UEFI with a NoCloud seed: key and password login, runcmd, root grown', () => {
    expect(image).toMatch(/\/Debian-13-x86_64-cloudimg-20251123\.0\.qcow2$/);
    const info = JSON.parse(sh('qemu-img', ['info', '--output=json', image]));
    expect(info['virtual-size']).toBeLessThan(8 * 2 ** 30);
    const disk = openDisk(image, work);
    try {
      expect(disk.rootList('/etc/ssh').filter((n) => n.startsWith('ssh_host_'))).toEqual([]);
      expect(disk.root('/etc/machine-id')).toBe('uninitialized\n');
    } finally {
      disk.close();
    }
    const report = boxesTest('cloud-init', image, work, ONE_BOOT('uefi'));
    expectOneBoot(report, 'uefi#1', [...COMMON_CHECKS.filter((c) => c !== 'first-boot-identity'), 'cloud-init-user-data', 'root-grown']);
  });
});

describe('boxes test refuses bad input with exit 2', () => {
  it.each([
    [['--profile', 'container'], /boxes test boots disk images and Vagrant boxes; container is neither/],
    [['--profile', 'basic', '--artifact', 'Debian-13-x86_64-cloudimg-1.qcow2'], /is a cloud-init image, not basic/],
    [['--profile', 'basic', '--artifact', 'notes.txt'], /is not a qcow2 or raw disk image/],
    [['--profile', 'basic', '--firmware', 'coreboot'], /--firmware: must be bios or uefi/],
  ])('%j', (args, message) => {
    writeFileSync(join(work, 'notes.txt'), 'hello');
    // A cloud-init image, as its build record beside it says.
    const options = optionsFor('cloud-init', { buildVersion: '1' });
    writeFileSync(join(work, options.targets[0]!.artifact.name), 'x');
    writeFileSync(join(work, options.targets[0]!.artifact.files.record), JSON.stringify(recordOf(options, { name: options.targets[0]!.artifact.name, sha256: '0'.repeat(64) })));
    const fixed = args.map((a) => (a.includes('.') ? join(work, a) : a));
    const r = boxesRaw(['test', ...fixed, '--output-dir', work]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('arch VM profiles (no Arch mirror here: the resolved configuration is checked)', () => {
  it.each([
    ['basic', 'root-40g', ['linux', 'grub', 'openssh', 'qemu-guest-agent'], 'arch'],
    ['cloud-init', 'root-grow', ['cloud-init', 'cloud-guest-utils'], undefined],
    ['libvirt-executor', 'root-40g', ['git', 'git-lfs', 'gitlab-runner', 'inetutils'], undefined],
  ])('%s', (profile, repart, packages, user) => {
    const mkosi = join(cache, 'mkosi/25.3-7/usr/lib/python3/dist-packages');
    const out = execFileSync('python3', ['-m', 'mkosi', '--directory', root, '--profile', profile, '--distribution', 'arch', '--json', 'summary'], {
      env: { ...process.env, PYTHONPATH: mkosi },
      encoding: 'utf8',
    });
    const image = JSON.parse(out).Images.at(-1);
    expect(image).toMatchObject({ Format: 'disk', Bootloader: 'grub', BiosBootloader: 'grub', Hostname: 'archlinux' });
    // The profile's own packages are VolatilePackages=: installed after the shared set mkosi caches.
    expect([...image.Packages, ...image.VolatilePackages]).toEqual(expect.arrayContaining(packages));
    expect(image.RepartDirectories.map(String).at(-1)).toMatch(new RegExp(`/mkosi\\.vm/repart/${repart}$`));
    expect(image.KernelCommandLine).toContain('net.ifnames=0');
    expect(image.Environment.BOXES_VM_USER).toBe(user);
    // Kernels installed in the guest boot next: mkinitcpio makes their initramfs, the pacman hook
    // lists them for GRUB; the initramfs mkinitcpio made at build time (build host's hardware) goes.
    expect(image.Packages).toContain('mkinitcpio');
    const trees = image.ExtraTrees.map((t: { Source: string }) => t.Source);
    expect(trees).toContain(join(root, 'mkosi.vm/arch.extra'));
    expect(trees).not.toContain(join(root, 'mkosi.vm/debian.extra'));
    expect(image.RemoveFiles).toContain('/boot/initramfs-*.img');
    expect(existsSync(join(root, 'mkosi.vm/arch.extra/etc/pacman.d/hooks/95-boxes-grub-config.hook'))).toBe(true);
  });
});

describe('the installed package set is shared (mkosi summary of the real tree)', () => {
  const summary = (distribution: string, profiles: string[]) => {
    const mkosi = join(cache, 'mkosi/25.3-7/usr/lib/python3/dist-packages');
    const out = execFileSync('python3', ['-m', 'mkosi', '--directory', root, ...profiles.flatMap((p) => ['--profile', p]), '--distribution', distribution, '--json', 'summary'], {
      env: { ...process.env, PYTHONPATH: mkosi },
      encoding: 'utf8',
    });
    return JSON.parse(out).Images.at(-1) as Record<string, unknown>;
  };
  const facts = { treeDir: root, toolsTree: '/tools', mkosiVersion: '25.3', buildMode: 'root' };
  const key = (distribution: string, profiles: string[]) => installCacheKey(summary(distribution, profiles), facts);

  it.each(['debian', 'arch'])('%s: one cache for every VM profile, one for the container variants, and they differ', async (distribution) => {
    const vm = await Promise.all(['basic', 'cloud-init', 'libvirt-executor', 'vagrant-libvirt', 'vagrant-virtualbox'].map((p) => key(distribution, [p])));
    expect(new Set(vm).size).toBe(1);
    const containers = await Promise.all(['base', 'base-devel'].map((v) => key(distribution, ['container', v])));
    expect(new Set(containers).size).toBe(1);
    expect(containers[0]).not.toBe(vm[0]);
  });
});
