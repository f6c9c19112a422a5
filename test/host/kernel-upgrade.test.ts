// Kernels installed in a VM boot next: the image's GRUB entry generator run against scratch trees
// laid out like Debian's and Arch's /boot, the hooks that call it, the ESP's GRUB stub, and the
// `kernel-upgrade` check's plan and selection.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findProfile } from '../../src/artifact/profiles.js';
import { UsageError } from '../../src/system/errors.js';
import { parseTestOptions } from '../../src/vm/test-options.js';
import { CHECKS, CheckFailed, selectChecks, type Guest } from '../../src/vm/checks.js';
import { KERNEL_UPGRADE_PLANS, newKernels, quietly } from '../../src/vm/kernel-upgrade.js';

const root = resolve(import.meta.dirname, '../..');
const generator = join(root, 'mkosi.vm/mkosi.extra/usr/lib/boxes/grub-config');
const PARTUUID = '08226f8c-72df-46d2-b6d6-6dbf3a9e41fa';
const FSUUID = '5b1c2d3e-0000-4000-8000-0123456789ab';
const CMDLINE = `BOOT_IMAGE=/boxes/6.12.1/vmlinuz root=PARTUUID=${PARTUUID} rw net.ifnames=0 console=tty0 console=ttyS0,115200`;

/** A scratch system root plus a findmnt that answers for it as if it were mounted at /. */
function system(files: Record<string, string>, mounts: { partuuid?: string; separateBoot?: boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'boxes-grubcfg-'));
  const sys = join(dir, 'root');
  for (const [path, content] of Object.entries({ 'proc/cmdline': `${CMDLINE}\n`, 'etc/os-release': 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\n', ...files })) {
    mkdirSync(dirname(join(sys, path)), { recursive: true });
    writeFileSync(join(sys, path), content);
  }
  mkdirSync(join(sys, 'boot'), { recursive: true });
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const fake = [
    '#!/bin/sh',
    '# findmnt -n -o FIELD -T PATH',
    'case "$3" in',
    `  PARTUUID) echo ${mounts.partuuid ?? PARTUUID.toUpperCase()} ;;`,
    `  UUID) case "$5" in */boot/) echo; echo ${FSUUID} ;; *) echo ${FSUUID} ;; esac ;;`,
    `  TARGET) case "$5" in */boot/) echo ${mounts.separateBoot ? `${sys}/boot; echo ${sys}/boot` : sys} ;; *) echo ${sys} ;; esac ;;`,
    `  SOURCE) echo /dev/vda3 ;;`,
    'esac',
  ].join('\n');
  writeFileSync(join(bin, 'findmnt'), `${fake}\n`);
  chmodSync(join(bin, 'findmnt'), 0o755);
  const run = () => spawnSync('sh', [generator], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, BOXES_SYSROOT: sys }, encoding: 'utf8' });
  const cfg = join(sys, 'boot/grub/boxes-kernels.cfg');
  return { sys, run, cfg, read: () => readFileSync(cfg, 'utf8') };
}

/** grub-script-check's complaints about a file (empty when GRUB would parse it). */
function grubScriptCheck(path: string): string {
  const r = spawnSync('grub-script-check', [path], { encoding: 'utf8' });
  if (r.error) throw new Error(`grub-script-check is needed (apt-get install grub-common): ${r.error.message}`);
  return r.status === 0 ? '' : `${r.stdout}${r.stderr}`.trim() || `exit ${r.status}`;
}

const entries = (cfg: string) => [...cfg.matchAll(/^menuentry '([^']*)'/gm)].map((m) => m[1]);

describe('grub-config (the root filesystem GRUB entries of VM images)', () => {
  it('Debian: lists each kernel with modules and an initrd, newest first, with the running command line', () => {
    // As in the running VM: /boot is the ESP, automounted.
    const s = system(
      {
        'boot/vmlinuz-6.12.1+deb13-amd64': 'k',
        'boot/initrd.img-6.12.1+deb13-amd64': 'i',
        'usr/lib/modules/6.12.1+deb13-amd64/modules.dep': '',
        'boot/vmlinuz-6.12.10+deb13-cloud-amd64': 'k',
        'boot/initrd.img-6.12.10+deb13-cloud-amd64': 'i',
        'usr/lib/modules/6.12.10+deb13-cloud-amd64/modules.dep': '',
        // No initrd yet (initramfs-tools runs first): not bootable, not listed.
        'boot/vmlinuz-6.12.20+deb13-amd64': 'k',
        'usr/lib/modules/6.12.20+deb13-amd64/modules.dep': '',
        // Modules gone (the package was removed, a stray file stayed): not listed.
        'boot/vmlinuz-6.1.0-30-amd64': 'k',
        'boot/initrd.img-6.1.0-30-amd64': 'i',
      },
      { separateBoot: true },
    );
    const r = s.run();
    expect(r.status, r.stderr).toBe(0);
    const cfg = s.read();
    // Version order, not string order: 6.12.10 is newer than 6.12.1.
    expect(entries(cfg)).toEqual(['Debian GNU/Linux 13 (trixie), Linux 6.12.10+deb13-cloud-amd64', 'Debian GNU/Linux 13 (trixie), Linux 6.12.1+deb13-amd64']);
    expect(cfg).toContain(`search --no-floppy --fs-uuid --set=root ${FSUUID}`);
    expect(cfg).toContain(`linux /vmlinuz-6.12.10+deb13-cloud-amd64 root=PARTUUID=${PARTUUID} rw net.ifnames=0 console=tty0 console=ttyS0,115200\n`);
    expect(cfg).toContain('initrd /initrd.img-6.12.10+deb13-cloud-amd64\n');
    expect(grubScriptCheck(s.cfg)).toBe('');
    expect(cfg).not.toContain('BOOT_IMAGE');
    expect(r.stderr).toMatch(/wrote .*boxes-kernels\.cfg: 2 entries, first: .*6\.12\.10\+deb13-cloud-amd64/);
  });

  it('Arch: kernels named after their package, versions from pkgbase, fallback initramfs and microcode', () => {
    const s = system({
      'etc/os-release': 'NAME="Arch Linux"\nPRETTY_NAME="Arch Linux"\n',
      'boot/vmlinuz-linux-lts': 'k',
      'boot/initramfs-linux-lts.img': 'i',
      'boot/initramfs-linux-lts-fallback.img': 'i',
      'boot/intel-ucode.img': 'u',
      'usr/lib/modules/6.6.60-1-lts/pkgbase': 'linux-lts\n',
      'usr/lib/modules/6.6.60-1-lts/vmlinuz': 'k',
    });
    const r = s.run();
    expect(r.status, r.stderr).toBe(0);
    const cfg = s.read();
    expect(entries(cfg)).toEqual(['Arch Linux, Linux 6.6.60-1-lts', 'Arch Linux, Linux 6.6.60-1-lts (fallback initramfs)']);
    expect(cfg).toContain('linux /boot/vmlinuz-linux-lts root=PARTUUID=');
    expect(cfg).toContain('initrd /boot/intel-ucode.img /boot/initramfs-linux-lts.img\n');
    expect(cfg).toContain('initrd /boot/intel-ucode.img /boot/initramfs-linux-lts-fallback.img\n');
  });

  it('/etc/kernel/cmdline wins over the running command line; /boot on the root filesystem keeps its prefix', () => {
    const s = system({
      'etc/kernel/cmdline': `root=UUID=${FSUUID} rw quiet\n`,
      'boot/vmlinuz-6.12.1+deb13-amd64': 'k',
      'boot/initrd.img-6.12.1+deb13-amd64': 'i',
      'usr/lib/modules/6.12.1+deb13-amd64/modules.dep': '',
    });
    writeFileSync(join(s.sys, 'proc/cmdline'), 'root=/dev/sdz9 ro\n');
    expect(s.run().status).toBe(0);
    expect(s.read()).toContain(`linux /boot/vmlinuz-6.12.1+deb13-amd64 root=UUID=${FSUUID} rw quiet\n`);
  });

  it("refuses when the command line's root= is another system's (a chroot or a build sandbox)", () => {
    const s = system(
      { 'boot/vmlinuz-6.12.1+deb13-amd64': 'k', 'boot/initrd.img-6.12.1+deb13-amd64': 'i', 'usr/lib/modules/6.12.1+deb13-amd64/modules.dep': '' },
      { partuuid: 'aaaaaaaa-0000-0000-0000-000000000000' },
    );
    const r = s.run();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/root=PARTUUID=08226f8c.* is not this system's root filesystem; write the command line to \/etc\/kernel\/cmdline/);
    expect(existsSync(s.cfg)).toBe(false);

    const none = system({ 'proc/cmdline': 'ro quiet\n' });
    expect(none.run().stderr).toMatch(/root=\(none\)/);
  });

  it('with no bootable kernel left it removes its file, so the ESP entries boot again', () => {
    const s = system({
      'boot/grub/boxes-kernels.cfg': "menuentry 'old' {}\n",
      'boot/grub/grub.cfg': 'set timeout=0\n',
      'boot/vmlinuz-6.12.1+deb13-amd64': 'k',
      'usr/lib/modules/6.12.1+deb13-amd64/modules.dep': '',
    });
    const r = s.run();
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(s.cfg)).toBe(false);
    // The ESP's own grub.cfg (mkosi's) is never touched.
    expect(readFileSync(join(s.sys, 'boot/grub/grub.cfg'), 'utf8')).toBe('set timeout=0\n');
    expect(r.stderr).toMatch(/build-time entries boot next/);
  });
});

describe('the hooks that run grub-config, and the ESP stub that reads its file', () => {
  const read = (p: string) => readFileSync(join(root, p), 'utf8');

  it('Debian: kernel postinst.d and postrm.d run it after initramfs-tools and never fail the package', () => {
    for (const dir of ['postinst.d', 'postrm.d']) {
      const hook = `mkosi.vm/debian.extra/etc/kernel/${dir}/zz-boxes-grub-config`;
      // run-parts runs them in name order: after initramfs-tools made the initrd.
      expect('zz-boxes-grub-config' > 'initramfs-tools').toBe(true);
      expect(read(hook)).toMatch(/^\/usr\/lib\/boxes\/grub-config \|\| true$/m);
      expect(spawnSync('test', ['-x', join(root, hook)]).status).toBe(0);
    }
  });

  it('Arch: a PostTransaction pacman hook on kernel install, upgrade and removal, after mkinitcpio', () => {
    const hook = read('mkosi.vm/arch.extra/etc/pacman.d/hooks/95-boxes-grub-config.hook');
    for (const op of ['Install', 'Upgrade', 'Remove']) expect(hook).toContain(`Operation = ${op}\n`);
    expect(hook).toContain('Target = usr/lib/modules/*/vmlinuz\n');
    expect(hook).toContain('When = PostTransaction\n');
    expect(hook).toContain("Exec = /bin/sh -c '/usr/lib/boxes/grub-config || true'\n");
    // pacman orders hooks by file name across its hook directories.
    expect('95-boxes-grub-config.hook' > '90-mkinitcpio-install.hook').toBe(true);
  });

  it("the ESP's grub.cfg sources the generated file (on the ESP, else on root) before mkosi's entries", () => {
    const stub = read('mkosi.vm/grub-esp.cfg');
    expect(stub).toContain('source "$prefix/boxes-kernels.cfg"');
    expect(stub).toContain('source "($boxes_disk,gpt3)/boot/grub/boxes-kernels.cfg"');
    // GRUB's own parser: its script language lacks much of the shell's (&&, ||).
    expect(grubScriptCheck(join(root, 'mkosi.vm/grub-esp.cfg'))).toBe('');
    expect(read('mkosi.vm/vm.finalize')).toContain('cat "${SRCDIR:?}/mkosi.vm/grub-esp.cfg" >>"$cfg"');
    // The root filesystem is the third partition: BIOS boot, ESP, root in name order.
    expect(['00-bios.conf', '05-esp.conf'].map((f) => existsSync(join(root, 'mkosi.vm/repart/common', f)))).toEqual([true, true]);
    expect(read('mkosi.vm/repart/root-40g/10-root.conf')).toContain('Type=root');
  });
});

describe('the kernel-upgrade check', () => {
  it('Debian installs the cloud kernel without recommends and purges the build-time one, answering the running-kernel question', () => {
    const d = KERNEL_UPGRADE_PLANS.debian;
    expect(d.install).toContain('apt-get update -q && apt-get install -y -q --no-install-recommends linux-image-cloud-amd64');
    expect(d.remove('6.12.1+deb13-amd64')).toContain('apt-get purge -y -q linux-image-amd64 linux-image-6.12.1+deb13-amd64');
    expect(d.remove('6.12.1+deb13-amd64')).toContain('linux-base/removing-running-kernel boolean false');
    expect(() => d.remove('6.12; rm -rf /')).toThrow(/unexpected kernel release/);
  });

  it('Arch installs linux-lts with a full upgrade and removes linux', () => {
    expect(KERNEL_UPGRADE_PLANS.arch.install).toBe('sudo -n pacman -Syu --noconfirm linux-lts');
    expect(KERNEL_UPGRADE_PLANS.arch.remove('6.17.1-arch1-1')).toBe('sudo -n pacman -R --noconfirm linux');
  });

  it('finds the kernel an install added; runs steps quietly but shows the end of a failure', () => {
    expect(newKernels('6.12.1+deb13-amd64\n', '6.12.1+deb13-amd64\n6.12.10+deb13-cloud-amd64\n')).toEqual(['6.12.10+deb13-cloud-amd64']);
    expect(newKernels('a\n', 'a\n')).toEqual([]);
    const ok = spawnSync('sh', ['-c', quietly('echo noise; true')], { encoding: 'utf8' });
    expect([ok.status, ok.stdout]).toEqual([0, '']);
    const bad = spawnSync('sh', ['-c', quietly('echo E: Unable to locate package; exit 100')], { encoding: 'utf8' });
    expect([bad.status, bad.stdout]).toEqual([100, 'E: Unable to locate package\n']);
  });

  it('is opt-in: named with --check, it runs alone; unknown or inapplicable names are usage errors', () => {
    const basic = findProfile('basic')!;
    expect(selectChecks(basic).map((c) => c.name)).not.toContain('kernel-upgrade');
    expect(selectChecks(basic, ['kernel-upgrade']).map((c) => c.name)).toEqual(['kernel-upgrade']);
    expect(() => selectChecks(basic, ['kernel-upgrade', 'nope'])).toThrow(/unknown check 'nope' \(valid: boot-finished, .*kernel-upgrade/);
    expect(() => selectChecks(basic, ['root-grown'])).toThrow(UsageError);
    expect(() => selectChecks(basic, ['vagrant-conventions'])).toThrow(/does not apply to basic images/);
    expect(selectChecks(findProfile('cloud-init')!).map((c) => c.name)).toContain('root-grown');
  });

  it('+name adds to the default set, -name takes away; what is left keeps the table order', () => {
    const basic = findProfile('basic')!;
    const defaults = selectChecks(basic).map((c) => c.name);
    expect(selectChecks(basic, ['+kernel-upgrade']).map((c) => c.name)).toEqual([...defaults, 'kernel-upgrade']);
    expect(selectChecks(basic, ['-first-boot-identity']).map((c) => c.name)).toEqual(defaults.filter((n) => n !== 'first-boot-identity'));
    expect(selectChecks(basic, ['swap', '+sudo', '-swap']).map((c) => c.name)).toEqual(['sudo']);
    expect(selectChecks(basic, ['kernel-upgrade', '+sudo']).map((c) => c.name)).toEqual(['sudo', 'kernel-upgrade']);
    expect(() => selectChecks(basic, ['-nope'])).toThrow(/unknown check 'nope'/);
    expect(() => selectChecks(basic, ['+root-grown'])).toThrow(/does not apply to basic images/);
    expect(() => selectChecks(basic, ['sudo', '-sudo'])).toThrow(/leaves no check to run/);
    // The upgrade runs in one boot: a run of it alone boots once.
    expect(selectChecks(basic, ['kernel-upgrade']).every((c) => c.once)).toBe(true);
    expect(
      selectChecks(basic, ['+kernel-upgrade'])
        .filter((c) => c.once)
        .map((c) => c.name),
    ).toEqual(['kernel-upgrade']);
  });

  it('--check takes a list and gives kernel-upgrade a longer default time limit', () => {
    expect(parseTestOptions({ profile: 'basic', check: 'kernel-upgrade' })).toMatchObject({ checks: ['kernel-upgrade'], timeoutMinutes: 45 });
    expect(parseTestOptions({ profile: 'basic', check: 'sudo,swap', timeout: '5' })).toMatchObject({ checks: ['sudo', 'swap'], timeoutMinutes: 5 });
    expect(() => parseTestOptions({ profile: 'basic', check: 'sudo,,swap' })).toThrow(/comma-separated list/);
    expect(parseTestOptions({ profile: 'basic', check: '+kernel-upgrade,-swap' })).toMatchObject({ checks: ['+kernel-upgrade', '-swap'], timeoutMinutes: 45 });
    expect(() => parseTestOptions({ profile: 'basic', check: '++sudo' })).toThrow(/comma-separated list/);
    expect(() => parseTestOptions({ profile: 'basic', check: '-nope' })).toThrow(/unknown check in '-nope'/);
  });
});

/** A Debian guest that plays the upgrade: what it answers depends on what it was told to do. */
function upgradingGuest(behaviour: { bootsInto?: string; grubLists?: string; install?: Error; modules?: string } = {}) {
  const state = { installed: false, rebooted: false, commands: [] as string[] };
  const g: Guest = {
    diskBytes: 0,
    distribution: 'debian',
    agent: async () => [],
    serialTail: async () => ['[  OK  ] Reached target multi-user.target', 'debian login:'],
    reboot: async () => void (state.rebooted = true),
    ssh: async (command) => {
      state.commands.push(command);
      if (command === 'uname -r') return state.rebooted ? `${behaviour.bootsInto ?? '6.12.10+deb13-cloud-amd64'}\n` : '6.12.1+deb13-amd64\n';
      if (command.startsWith('ls -1 /usr/lib/modules')) return state.installed ? '6.12.1+deb13-amd64\n6.12.10+deb13-cloud-amd64\n' : '6.12.1+deb13-amd64\n';
      if (command.includes('apt-get install')) {
        if (behaviour.install) throw behaviour.install;
        state.installed = true;
      }
      if (command.includes('grep "^menuentry" /boot/grub/boxes-kernels.cfg'))
        return behaviour.grubLists ?? "menuentry 'Debian GNU/Linux 13 (trixie), Linux 6.12.10+deb13-cloud-amd64' --id 'x' {\n";
      if (command.startsWith('if lsmod')) return behaviour.modules ?? 'loaded\n';
      return '';
    },
  };
  return { g, state };
}
const kernelUpgrade = CHECKS.find((c) => c.name === 'kernel-upgrade')!;

describe('the kernel-upgrade check against a scripted guest', () => {
  it('passes when the guest comes back on the installed kernel with loop loaded', async () => {
    const { g, state } = upgradingGuest();
    await kernelUpgrade.run(g, {});
    const order = ['apt-get install', 'apt-get purge', 'grep "^menuentry"', 'modprobe loop'].map((k) => state.commands.findIndex((c) => c.includes(k)));
    expect(order.every((i, n) => i >= 0 && (n === 0 || i > order[n - 1]!))).toBe(true);
    expect(state.rebooted).toBe(true);
  });

  it.each([
    [{ bootsInto: '6.12.1+deb13-amd64' }, /after the reboot the guest runs 6\.12\.1\+deb13-amd64, not 6\.12\.10\+deb13-cloud-amd64/, ['debian login:']],
    [{ grubLists: '' }, /boxes-kernels\.cfg does not boot 6\.12\.10\+deb13-cloud-amd64 first after the install \(it has no entries\)/, []],
    [
      { install: Object.assign(new Error('ssh exited with 100'), { logTail: ['E: Unable to locate package linux-image-cloud-amd64'] }) },
      /installing linux-image-cloud-amd64 failed: ssh exited with 100/,
      ['E: Unable to locate package linux-image-cloud-amd64'],
    ],
    [{ modules: '' }, /modprobe loop succeeded on 6\.12\.10\+deb13-cloud-amd64 but lsmod does not list loop/, []],
  ])('fails naming what it saw (%o)', async (behaviour, message, tail) => {
    const { g } = upgradingGuest(behaviour);
    const error = await kernelUpgrade.run(g, {}).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CheckFailed);
    expect((error as CheckFailed).message).toMatch(message);
    expect((error as CheckFailed).tail).toEqual(expect.arrayContaining(tail));
  });
});
