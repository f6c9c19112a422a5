// The pure parts of `boxes test`: QEMU command lines, the KVM probe's verdict, the cloud-init seed,
// the checks against a scripted guest, artifact recognition and the option table.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findProfile } from '../../src/artifact/profiles.js';
import { ChildFailed, UsageError } from '../../src/system/errors.js';
import { companions } from '../../src/artifact/artifact.js';
import { parseBuildOptions } from '../../src/plan/options.js';
import { makeRecord } from '../../src/record/record.js';
import { parseTestOptions } from '../../src/vm/test-options.js';
import { classifyKvmProbe } from '../../src/vm/accel.js';
import { interfaceNames } from '../../src/vm/agent.js';
import { chooseArtifact, diskFormat } from '../../src/vm/artifact.js';
import { CHECKS, CheckFailed, identityProblems, type Facts, type Guest } from '../../src/vm/checks.js';
import { findOvmf } from '../../src/vm/firmware.js';
import { HOST_TOOLBOX } from '../../src/system/toolbox.js';
import { qemuArgs, type QemuSpec } from '../../src/vm/qemu-args.js';
import { isoCommand, metaData, userData } from '../../src/vm/seed.js';
import { sshArgs } from '../../src/vm/ssh.js';

const base: QemuSpec = { accel: 'tcg', firmware: 'bios', disk: '/w/disk.qcow2', sshPort: 2222, agentSocket: '/w/qga.sock', serialLog: '/o/serial.log' };
const pairs = (argv: string[]) => argv.slice(1).reduce<string[]>((acc, a, i, all) => (a.startsWith('-') ? [...acc, `${a} ${all[i + 1] ?? ''}`] : acc), []);

describe('qemu command line', () => {
  it('boots BIOS under TCG with forwarded SSH on loopback, the agent socket and the serial log', () => {
    const p = pairs(qemuArgs(base));
    expect(p).toContain('-machine q35,accel=tcg');
    expect(p).toContain('-cpu qemu64');
    expect(p).toContain('-netdev user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22');
    expect(p).toContain('-chardev socket,id=qga0,path=/w/qga.sock,server=on,wait=off');
    expect(p).toContain('-device virtserialport,chardev=qga0,name=org.qemu.guest_agent.0');
    expect(p).toContain('-serial file:/o/serial.log');
    expect(p).toContain('-drive file=/w/disk.qcow2,if=virtio,format=qcow2,discard=unmap');
    expect(p.some((a) => a.includes('pflash'))).toBe(false);
  });

  it('boots UEFI from OVMF with a private variable store, KVM with the host CPU, and a seed CD', () => {
    const p = pairs(qemuArgs({ ...base, accel: 'kvm', firmware: 'uefi', ovmf: { code: '/fw/CODE.fd', vars: '/w/vars.fd' }, seedIso: '/w/seed.iso' }));
    expect(p).toContain('-machine q35,accel=kvm');
    expect(p).toContain('-cpu host');
    expect(p).toContain('-drive if=pflash,format=raw,unit=0,readonly=on,file=/fw/CODE.fd');
    expect(p).toContain('-drive if=pflash,format=raw,unit=1,file=/w/vars.fd');
    expect(p).toContain('-drive file=/w/seed.iso,media=cdrom,readonly=on');
  });

  it('refuses a UEFI boot without firmware', () => {
    expect(() => qemuArgs({ ...base, firmware: 'uefi' })).toThrow(/OVMF/);
  });

  it('finds OVMF where Debian and Arch put it', () => {
    expect(findOvmf(HOST_TOOLBOX, (p) => p.startsWith('/usr/share/edk2/x64/'))?.code).toBe('/usr/share/edk2/x64/OVMF_CODE.4m.fd');
    expect(findOvmf(HOST_TOOLBOX, (p) => p.includes('OVMF_') && p.includes('_4M'))?.vars).toBe('/usr/share/OVMF/OVMF_VARS_4M.fd');
    expect(findOvmf(HOST_TOOLBOX, () => false)).toBeUndefined();
  });
});

describe('KVM probe', () => {
  it.each([
    ['BdsDxe: loading Boot0001 "EFI Internal Shell"', '', 'kvm'],
    ['', 'KVM internal error. Suberror: 1\nemulation failure', 'tcg'],
    ['', '', 'tcg'],
    ['garbage', 'qemu-system-x86_64: terminating on signal 15', 'tcg'],
  ])('serial %j, stderr %j -> %s', (serial, stderr, accel) => {
    expect(classifyKvmProbe(serial, stderr).accel).toBe(accel);
  });
});

describe('cloud-init seed', () => {
  const seed = { instanceId: 'i-1', user: 'boxes-test', password: 'p\'w"d: x', authorizedKey: 'ssh-ed25519 AAAA test\n', marker: '/var/lib/m' };
  it('user-data is cloud-config that creates the user with key, password and runcmd', () => {
    const text = userData(seed);
    expect(text.startsWith('#cloud-config\n')).toBe(true);
    const config = JSON.parse(text.slice('#cloud-config\n'.length));
    expect(config.users[0]).toMatchObject({ name: 'boxes-test', lock_passwd: false, plain_text_passwd: seed.password, ssh_authorized_keys: ['ssh-ed25519 AAAA test'] });
    expect(config.ssh_pwauth).toBe(true);
    expect(config.runcmd).toEqual([['touch', '/var/lib/m']]);
    expect(metaData(seed)).toBe('instance-id: i-1\nlocal-hostname: boxes-test\n');
  });
  it('the ISO carries the cidata volume label NoCloud looks for', () => {
    expect(isoCommand('genisoimage', '/w/seed.iso', '/w')).toEqual([
      'genisoimage',
      '-quiet',
      '-output',
      '/w/seed.iso',
      '-volid',
      'cidata',
      '-joliet',
      '-rock',
      '/w/user-data',
      '/w/meta-data',
    ]);
    expect(isoCommand('xorriso', '/w/s.iso', '/w').slice(0, 3)).toEqual(['xorriso', '-as', 'mkisofs']);
  });
});

describe('ssh', () => {
  it('uses the password through sshpass or the key alone, never trusting host keys', () => {
    const pw = sshArgs({ port: 2222, user: 'debian', password: 'debian' }, 'true');
    expect(pw.slice(0, 4)).toEqual(['sshpass', '-p', 'debian', 'ssh']);
    expect(pw.slice(-4)).toEqual(['-p', '2222', 'debian@127.0.0.1', 'true']);
    const key = sshArgs({ port: 2200, user: 'u', identity: '/k' }, 'id');
    expect(key[0]).toBe('ssh');
    expect(key).toContain('UserKnownHostsFile=/dev/null');
    expect(key.join(' ')).toContain('-i /k');
    expect(() => sshArgs({ port: 1, user: 'u' }, 'x')).toThrow();
  });
});

/** A guest whose answers are scripted per command. */
function guest(answers: Record<string, string | Error>, agent: unknown = [{ name: 'lo' }, { name: 'eth0' }], diskBytes = 10 * 2 ** 30): Guest {
  return {
    diskBytes,
    ssh: async (command) => {
      const key = Object.keys(answers).find((k) => command.includes(k));
      const a = key === undefined ? '' : answers[key]!;
      // What the real ssh does when the command fails: a child that exited non-zero.
      if (a instanceof Error) throw new ChildFailed(`ssh ${command} exited with 1`, undefined, [a.message], 1);
      return a;
    },
    agent: async () => agent,
    reboot: async () => undefined,
    serialTail: async () => [],
  };
}
const check = (name: string) => CHECKS.find((c) => c.name === name)!;

describe('checks', () => {
  it('pass on a healthy guest and record its identity', async () => {
    const facts: Facts = { cloudInitMarker: '/m', credentialHostname: 'boxes-test-0a1b2c3d' };
    const g = guest({
      '^usedns': 'usedns no\n',
      'kernel/hostname': 'boxes-test-0a1b2c3d\n',
      '/root/.ssh/authorized_keys': 'ssh-ed25519 AAAAkey boxes-test\n',
      'sshd -T': 'usedns no\npasswordauthentication no\nkbdinteractiveauthentication no\npermitrootlogin without-password\n',
      '/proc/cmdline': 'BOOT_IMAGE=/boxes/6.12/vmlinuz root=PARTUUID=x rw lockdown=confidentiality\n',
      '/sys/kernel/security/lockdown': 'none integrity [confidentiality]\n',
      showhold: 'linux-image-amd64\n',
      'command -v': '',
      'systemd-time-wait-sync': 'masked\n',
      'is-system-running': 'running\n',
      '--failed': '',
      '/proc/swaps': 'Filename Type\n/swap/swapfile file 524284 0 -2\n',
      'machine-id': '0123456789abcdef0123456789abcdef\n',
      ssh_host_ed25519: 'ssh-ed25519 AAAAkey root@debian\n',
      'cloud-init status': 'status: done\n',
      'df -B1': `${9 * 2 ** 30}\n`,
      'stat -c': 'vagrant 700\nvagrant 600\n',
      'cat ~/.ssh/authorized_keys': 'ssh-rsa AAAA vagrant insecure public key\nssh-ed25519 AAAA vagrant insecure public key\n',
    });
    for (const c of CHECKS.filter((c) => !c.optIn)) await c.run({ ...g, distribution: 'debian' }, facts);
    expect(facts.identity).toEqual({ machineId: '0123456789abcdef0123456789abcdef', hostKey: 'ssh-ed25519 AAAAkey' });
  });

  it.each([
    ['boot-finished', { 'is-system-running': 'starting\n' }, /system state is 'starting'/],
    ['no-failed-units', { '--failed': 'ssh.service loaded failed failed OpenBSD Secure Shell server\n' }, /failed units: ssh\.service/],
    ['no-ordering-cycles', { 'ordering cycle': 'tmp.mount: Found ordering cycle on swap.target/start\n' }, /ordering cycles: tmp\.mount: Found ordering cycle/],
    ['sudo', { sudo: new Error('exit 1') }, /sudo -n true failed/],
    ['swap', { '/proc/swaps': 'Filename Type\n' }, /swap file is not active/],
    ['first-boot-identity', { 'machine-id': 'uninitialized\n' }, /machine-id is 'uninitialized'/],
    ['cloud-init-user-data', { 'cloud-init status': 'status: error\n' }, /cloud-init status: error/],
    ['cloud-init-user-data', { 'cloud-init status': 'status: done\n', 'ds-identify.log': new Error('exit 1') }, /generator did not see the cidata seed/],
    ['root-grown', { 'df -B1': `${2 * 2 ** 30}\n` }, /root is 2\.0 GiB on a 10\.0 GiB disk/],
    ['vagrant-conventions', { 'stat -c': 'vagrant 755\nvagrant 600\n' }, /are 'vagrant 755', 'vagrant 600', not/],
    ['vagrant-conventions', { 'stat -c': 'vagrant 700\nvagrant 600\n', 'cat ~/.ssh': 'ssh-rsa AAAA\n' }, /holds ssh-rsa, not the RSA and ED25519/],
    ['vagrant-conventions', { 'stat -c': 'vagrant 700\nvagrant 600\n', 'cat ~/.ssh': 'ssh-rsa A\nssh-ed25519 B\n', 'sshd -T': 'usedns yes\n' }, /sshd has 'usedns yes'/],
    ['executor-credentials', { 'kernel/hostname': 'localhost\n' }, /hostname is 'localhost', not 'boxes-test-1' from the system\.hostname credential/],
    [
      'executor-credentials',
      { 'kernel/hostname': 'boxes-test-1\n', '/root/.ssh': 'ssh-ed25519 A boxes-test\nssh-rsa B old\n' },
      /holds 2 keys, not just the one from the credential/,
    ],
    [
      'executor-credentials',
      { 'kernel/hostname': 'boxes-test-1\n', '/root/.ssh': 'ssh-ed25519 A boxes-test\n', 'sshd -T': 'passwordauthentication yes\n' },
      /sshd has 'passwordauthentication yes', not/,
    ],
    ['executor-conventions', { '/proc/cmdline': 'root=x rw\n' }, /lockdown=confidentiality is not on the kernel command line/],
    ['executor-conventions', { '/proc/cmdline': 'lockdown=confidentiality\n', lockdown: '[none] integrity confidentiality\n' }, /kernel lockdown is '\[none\]/],
    ['executor-conventions', { '/proc/cmdline': 'lockdown=confidentiality\n', lockdown: '[confidentiality]\n', showhold: '' }, /linux-image-amd64 is not held \(held: nothing\)/],
    [
      'executor-conventions',
      { '/proc/cmdline': 'lockdown=confidentiality\n', lockdown: '[confidentiality]\n', showhold: 'linux-image-amd64\n', 'command -v': 'git-lfs\n' },
      /missing: git-lfs/,
    ],
  ])('%s fails with a reason', async (name, answers, message) => {
    const facts = { cloudInitMarker: '/m', credentialHostname: 'boxes-test-1' };
    const run = check(name).run({ ...guest(answers as Record<string, string | Error>), distribution: 'debian' }, facts);
    await expect(run).rejects.toBeInstanceOf(CheckFailed);
    await expect(check(name).run({ ...guest(answers as Record<string, string | Error>), distribution: 'debian' }, facts)).rejects.toThrow(message);
  });

  it('guest-agent fails when lo is not listed', async () => {
    await expect(check('guest-agent').run(guest({}, [{ name: 'eth0' }]), {})).rejects.toThrow(/listed eth0, not lo/);
    expect(interfaceNames([{ name: 'lo' }, {}, 'x'])).toEqual(['lo']);
    expect(interfaceNames({ error: 1 })).toEqual([]);
  });

  it('two boots must not share machine-id or host key', () => {
    const a = { machineId: 'a'.repeat(32), hostKey: 'ssh-ed25519 A' };
    expect(identityProblems(a, { machineId: 'b'.repeat(32), hostKey: 'ssh-ed25519 B' })).toEqual([]);
    expect(identityProblems(a, a)).toHaveLength(2);
  });
});

describe('which artifact boxes test boots', () => {
  const QCOW2 = Buffer.concat([Buffer.from([0x51, 0x46, 0x49, 0xfb]), Buffer.alloc(1020)]);
  const GZIP = Buffer.from([0x1f, 0x8b, 8, 0]);
  /** An artifact as boxes build leaves it: the file, and its build record beside it (what readers go by). */
  const built = (dir: string, profile: string, version: string, bytes: Buffer, as?: string) => {
    const options = parseBuildOptions({ profile, distribution: 'debian', sourceDateEpoch: '1763856000', buildVersion: version }, { now: new Date() });
    const target = options.targets[0]!;
    const name = as ?? target.artifact.name;
    writeFileSync(join(dir, name), bytes);
    const record = makeRecord({
      toolVersion: '0.1.0',
      revision: 'abc',
      mkosiVersion: '25.3',
      toolsTree: { distribution: 'debian', release: 'trixie', packages: [] },
      options,
      target,
      seed: '0e6b1c4d-7f52-4a39-9d0e-5b8a2c61f3e7',
      packages: [],
      artifact: { name, sha256: '0'.repeat(64), size: bytes.length },
    });
    writeFileSync(join(dir, companions(name).record), JSON.stringify(record));
    return join(dir, name);
  };

  const dir = mkdtempSync(join(tmpdir(), 'boxes-artifact-'));
  const qcow2 = built(dir, 'basic', '20251123.0', QCOW2);
  const raw = join(dir, 'disk.raw');
  const gpt = Buffer.alloc(1024);
  gpt.write('EFI PART', 512, 'latin1');
  writeFileSync(raw, gpt);
  const text = built(dir, 'cloud-init', '1', Buffer.from('not a disk'));
  built(dir, 'vagrant-virtualbox', '1', Buffer.from('not a box'));
  // Named like a basic image, recorded as a cloud-init one: the record decides.
  built(dir, 'cloud-init', '2', QCOW2, 'Debian-13-x86_64-basic-2.qcow2');
  // Named like a cloud-init image, without a record: it is what --profile says.
  const unrecorded = join(dir, 'Debian-13-x86_64-cloudimg-3.qcow2');
  writeFileSync(unrecorded, QCOW2);

  it('recognises qcow2 and raw GPT disks by their bytes', async () => {
    expect(await diskFormat(qcow2)).toBe('qcow2');
    expect(await diskFormat(raw)).toBe('raw');
    expect(await diskFormat(text)).toBeUndefined();
  });

  it('finds the newest box of a Vagrant profile by the records, not the disk images', async () => {
    for (const v of ['20251101.0', '20251123.0']) built(dir, 'vagrant-libvirt', v, GZIP);
    expect(await chooseArtifact(findProfile('vagrant-libvirt')!, undefined, dir)).toEqual({
      path: join(dir, 'Debian-13-x86_64-libvirt-20251123.0.box'),
      format: 'box',
      distribution: 'debian',
    });
  });

  it('finds the newest image of the profile in the output directory; a file without a record is not a candidate', async () => {
    built(dir, 'basic', '20251101.0', QCOW2);
    writeFileSync(join(dir, 'Debian-13-x86_64-basic-20991231.0.qcow2'), QCOW2);
    expect((await chooseArtifact(findProfile('basic')!, undefined, dir)).path).toBe(qcow2);
  });

  it('takes an image without a record as the profile given, whatever its name says', async () => {
    expect(await chooseArtifact(findProfile('basic')!, unrecorded, dir)).toEqual({ path: unrecorded, format: 'qcow2', distribution: undefined });
  });

  it.each([
    ['container', undefined, /boxes test boots disk images and Vagrant boxes; container is neither/],
    ['vagrant-libvirt', 'Debian-13-x86_64-basic-20251123.0.qcow2', /is a basic image, not vagrant-libvirt/],
    ['vagrant-virtualbox', 'Debian-13-x86_64-virtualbox-1.box', /is not a Vagrant box \(not a gzipped tar\)/],
    ['vagrant-virtualbox', undefined, /virtualbox-1.box is not a Vagrant box/],
    ['basic', 'Debian-13-x86_64-cloudimg-1.qcow2', /is a cloud-init image, not basic/],
    ['basic', 'Debian-13-x86_64-basic-2.qcow2', /is a cloud-init image, not basic/],
    ['cloud-init', 'Debian-13-x86_64-cloudimg-1.qcow2', /is not a qcow2 or raw disk image/],
    ['basic', 'missing.qcow2', /does not exist/],
    ['libvirt-executor', undefined, /no libvirt-executor image in/],
  ])('%s %s is a usage error', async (profile, artifact, message) => {
    const run = chooseArtifact(findProfile(profile)!, artifact && join(dir, artifact), dir);
    await expect(run).rejects.toBeInstanceOf(UsageError);
    await expect(chooseArtifact(findProfile(profile)!, artifact && join(dir, artifact), dir)).rejects.toThrow(message);
  });
});

describe('boxes test options', () => {
  it('defaults and validation', () => {
    expect(parseTestOptions({ profile: 'basic' })).toEqual({
      profile: 'basic',
      artifact: undefined,
      firmware: undefined,
      distribution: undefined,
      outputDir: 'output',
      checks: undefined,
      timeoutMinutes: 15,
      cpus: undefined,
    });
    expect(parseTestOptions({ profile: 'basic', cpus: '1' }).cpus).toBe(1);
    expect(() => parseTestOptions({ profile: 'basic', cpus: '1.5' })).toThrow(/--cpus: must be a whole number of CPUs/);
    expect(parseTestOptions({ profile: 'cloud-init', firmware: 'uefi', timeout: '2.5' })).toMatchObject({ firmware: 'uefi', timeoutMinutes: 2.5 });
    expect(() => parseTestOptions({})).toThrow('say which image to test: --profile P (one of: basic, cloud-init, libvirt-executor, vagrant-libvirt, vagrant-virtualbox)');
    expect(() => parseTestOptions({ profile: 'basic', firmware: 'coreboot' })).toThrow(/--firmware: must be bios or uefi/);
    expect(() => parseTestOptions({ profile: 'basic', timeout: '0' })).toThrow(/more than 0/);
    expect(() => parseTestOptions({ profile: 'x' })).toThrow(UsageError);
  });
});
