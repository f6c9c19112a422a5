// Real mkosi builds of the Debian Vagrant boxes: reproduced rootless from their records, read with
// qemu-img and an XML parser, added by Debian's vagrant (directly, through `boxes catalog`, and from
// the catalog `boxes publish` keeps), and the libvirt box's disk booted by `boxes test`.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseDpkgStatus } from '../../src/record/packages.js';
import { buildRecordSchema } from '../../src/record/schema.js';
import { awaitedLater, boxesRaw, build, buildAsync, reproduceRootless, sh, VERSION, workDir, type Built } from '../support/cli.js';
import { openDisk } from '../support/disk-files.js';
import { boxesTest, expectOneBoot, ONE_BOOT } from '../support/boot-test.js';

const work = workDir();
const LIBVIRT = `Debian-13-x86_64-libvirt-${VERSION}.box`;
const VIRTUALBOX = `Debian-13-x86_64-virtualbox-${VERSION}.box`;
const profiles = ['--profile', 'vagrant-libvirt,vagrant-virtualbox', '--distribution', 'debian'];

function unpack(box: string): string {
  const dir = mkdtempSync(join(work, 'unpacked-'));
  sh('tar', ['-xzf', box, '-C', dir]);
  return dir;
}

function vagrant(home: string, args: string[]) {
  const r = spawnSync('vagrant', args, { env: { ...process.env, VAGRANT_HOME: home, VAGRANT_CHECKPOINT_DISABLE: '1' }, encoding: 'utf8', timeout: 10 * 60_000 });
  if (r.error) throw new Error(`vagrant is not installed (apt-get install vagrant vagrant-libvirt): ${r.error.message}`);
  return r;
}

describe('debian vagrant boxes', () => {
  let first: Built;
  const path = (name: string) => first.artifacts.find((a) => a.path.endsWith(name))!.path;

  beforeAll(() => {
    first = build([...profiles, '--output-dir', join(work, 'a')]);
  });

  // A later build of the libvirt box, for the publish test: root's, beside the rootless reproduce
  // (each has its own cache).
  const NEXT = '20251123.1';
  let later: (() => Promise<Built>) | undefined;
  const buildLater = () =>
    (later ??= awaitedLater(buildAsync(['--profile', 'vagrant-libvirt', '--distribution', 'debian', '--build-version', NEXT, '--output-dir', join(work, 'c')])));

  // One reproduce of both records: one rebuild, the two boxes side by side.
  it('are byte-for-byte reproducible: boxes reproduce, rootless and elsewhere, gives the root build and its records, and a verification statement', () => {
    buildLater();
    expect(first.artifacts.map((a) => a.path.split('/').at(-1))).toEqual([LIBVIRT, VIRTUALBOX]);
    const rebuilt = reproduceRootless(
      first.artifacts.map((a) => `${a.path}.manifest.json`),
      join(work, 'b/elsewhere'),
      first.toolsTree,
    );
    expect(rebuilt).toHaveLength(2);
    for (const [i, a] of first.artifacts.entries()) {
      const again = rebuilt[i]!;
      expect(again).toMatchObject({ identical: true, sha256: a.sha256, statement: `${a.path}.reproduced.json` });
      expect(readFileSync(`${again.artifact}.manifest.json`, 'utf8')).toBe(readFileSync(`${a.path}.manifest.json`, 'utf8'));
      expect(JSON.parse(readFileSync(again.statement, 'utf8')).subject).toEqual([{ name: a.path.split('/').at(-1), digest: { sha256: a.sha256 } }]);
    }
  });

  it('libvirt box: a qcow2 box.img, metadata and Vagrantfile; vagrant user with the insecure keys, no host keys', () => {
    const dir = unpack(path(LIBVIRT));
    expect(JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8'))).toEqual({ provider: 'libvirt', format: 'qcow2', virtual_size: 40 });
    expect(readFileSync(join(dir, 'Vagrantfile'), 'utf8')).toContain('libvirt.driver = "kvm"');
    const info = JSON.parse(sh('qemu-img', ['info', '--output=json', join(dir, 'box.img')]));
    expect(info.format).toBe('qcow2');
    expect(Math.ceil(info['virtual-size'] / 2 ** 30)).toBe(40);
    const disk = openDisk(join(dir, 'box.img'), work);
    try {
      expect(disk.root('/etc/passwd')).toMatch(/^vagrant:x:1000:1000::\/home\/vagrant:\/bin\/bash$/m);
      expect(disk.root('/etc/sudoers.d/10-boxes-vagrant')).toBe('vagrant ALL=(ALL) NOPASSWD: ALL\n');
      const keys = disk.root('/home/vagrant/.ssh/authorized_keys');
      expect(keys).toContain('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN1YdxBpNlzxDqfJyw/QKow1F+wvG9hXGoqiysfJOn5Y vagrant insecure public key');
      expect(keys).toMatch(/^ssh-rsa AAAAB3NzaC1yc2EAAAABIwAAAQEA6NF8iallvQVp22WDkTkyrtvp9eWW6A8YVr\S+ vagrant insecure public key$/m);
      expect(disk.rootList('/etc/ssh').filter((n) => n.startsWith('ssh_host_'))).toEqual([]);
      expect(disk.root('/etc/machine-id')).toBe('uninitialized\n');
      expect(disk.root('/etc/ssh/sshd_config.d/10-boxes-vagrant.conf')).toBe('UseDNS no\n');
      // The build record lists exactly the packages installed on the box's disk.
      const record = buildRecordSchema.parse(JSON.parse(readFileSync(`${path(LIBVIRT)}.manifest.json`, 'utf8')));
      expect(record.packages.map((p) => `${p.name} ${p.version}`).sort()).toEqual(parseDpkgStatus(disk.root('/var/lib/dpkg/status')));
      expect(record.image).toMatchObject({ profile: 'vagrant-libvirt', distribution: 'debian', release: 'trixie' });
    } finally {
      disk.close();
    }
  });

  it('virtualbox box: a streamOptimized VMDK and an OVF whose disk, machine and MAC agree with the Vagrantfile', () => {
    const dir = unpack(path(VIRTUALBOX));
    expect(
      sh('tar', ['-tzf', path(VIRTUALBOX)])
        .trim()
        .split('\n'),
    ).toEqual(['Vagrantfile', 'box-disk001.vmdk', 'box.ovf', 'metadata.json']);
    const info = JSON.parse(sh('qemu-img', ['info', '--output=json', join(dir, 'box-disk001.vmdk')]));
    expect(info.format).toBe('vmdk');
    expect(info['format-specific'].data['create-type']).toBe('streamOptimized');
    sh('qemu-img', ['check', join(dir, 'box-disk001.vmdk')]);
    const ovf = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@' }).parse(readFileSync(join(dir, 'box.ovf'), 'utf8')).Envelope;
    const disk = ovf.DiskSection.Disk;
    expect(Number(disk['@ovf:capacity'])).toBe(info['virtual-size']);
    const machine = ovf.VirtualSystem['vbox:Machine'];
    expect(machine).toMatchObject({ '@name': 'debian', '@OSType': 'Debian_64' });
    expect(machine.StorageControllers.StorageController.AttachedDevice.Image['@uuid']).toBe(`{${disk['@vbox:uuid']}}`);
    const mac = machine.Hardware.Network.Adapter['@MACAddress'];
    expect(readFileSync(join(dir, 'Vagrantfile'), 'utf8')).toContain(`config.vm.base_mac = "${mac}"`);
  });

  it('vagrant box add takes each box, and the catalog that boxes catalog writes', () => {
    const home = join(work, 'vagrant-home');
    mkdirSync(home);
    for (const [name, file] of [
      ['boxes-test/libvirt', LIBVIRT],
      ['boxes-test/virtualbox', VIRTUALBOX],
    ] as const) {
      const r = vagrant(home, ['box', 'add', '--name', name, path(file)]);
      expect(r.status, r.stdout + r.stderr).toBe(0);
    }
    const catalog = join(work, 'catalog.json');
    const c = boxesRaw(['catalog', '--name', 'debian/boxes-test', '--base-url', `file://${join(work, 'a')}`, '--output', catalog, path(LIBVIRT), path(VIRTUALBOX)]);
    expect(c.status, c.stderr).toBe(0);
    for (const provider of ['libvirt', 'virtualbox']) {
      const r = vagrant(home, ['box', 'add', '--provider', provider, catalog]);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain('Calculating and comparing box checksum');
    }
    const list = vagrant(home, ['box', 'list']).stdout;
    expect(list).toMatch(/^boxes-test\/libvirt\s+\(libvirt, 0\)$/m);
    expect(list).toMatch(/^boxes-test\/virtualbox\s+\(virtualbox, 0\)$/m);
    expect(list).toMatch(new RegExp(`^debian/boxes-test\\s+\\(libvirt, ${VERSION.replace('.', '\\.')}\\)$`, 'm'));
    expect(list).toMatch(new RegExp(`^debian/boxes-test\\s+\\(virtualbox, ${VERSION.replace('.', '\\.')}\\)$`, 'm'));
    // Vagrant checks the catalog's checksum: a wrong one is refused.
    const text = readFileSync(catalog, 'utf8').replace(/"checksum": "[0-9a-f]{8}/, '"checksum": "00000000');
    writeFileSync(catalog, text);
    const bad = vagrant(join(work, 'vagrant-home-2'), ['box', 'add', '--provider', 'libvirt', catalog]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/checksum/i);
  });

  it('boxes publish puts two builds into one directory catalog, and vagrant box add installs each version from it', async () => {
    const site = join(work, 'site');
    const second = await buildLater()();
    const published = boxesRaw(['publish', '--output-dir', join(work, 'a'), '--boxes', site, '--json']);
    expect(published.status, published.stderr).toBe(0);
    // The second build was not reproduced: refused, then published loudly with --unverified.
    const refused = boxesRaw(['publish', '--output-dir', join(work, 'c'), '--boxes', site]);
    expect(refused.status).toBe(3);
    expect(refused.stderr).toMatch(/has no verification statement/);
    const catalog = join(site, 'debian-trixie.json');
    const before = readFileSync(catalog, 'utf8');
    const loud = boxesRaw(['publish', '--output-dir', join(work, 'c'), '--boxes', site, '--unverified']);
    expect(loud.status, loud.stderr).toBe(0);
    expect(loud.stderr).toMatch(/WARNING: publishing Debian-13-x86_64-libvirt-20251123\.1\.box UNVERIFIED/);
    const merged = JSON.parse(readFileSync(catalog, 'utf8'));
    expect(merged.versions.slice(0, 1)).toEqual(JSON.parse(before).versions);
    expect(merged.versions.map((v: { version: string; description?: string }) => [v.version, v.description])).toEqual([
      [VERSION, undefined],
      [NEXT, expect.stringMatching(/^unverified/)],
    ]);
    const home = join(work, 'vagrant-home-site');
    mkdirSync(home);
    for (const [version, sha256] of [
      [VERSION, first.artifacts[0]!.sha256],
      [NEXT, second.artifacts[0]!.sha256],
    ] as const) {
      const r = vagrant(home, ['box', 'add', '--provider', 'libvirt', '--box-version', version, catalog]);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain('Calculating and comparing box checksum');
      expect(merged.versions.find((v: { version: string }) => v.version === version).providers[0].checksum).toBe(sha256);
    }
    const list = vagrant(home, ['box', 'list']).stdout;
    for (const version of [VERSION, NEXT]) expect(list).toMatch(new RegExp(`^debian/trixie\\s+\\(libvirt, ${version.replaceAll('.', '\\.')}\\)$`, 'm'));
  });

  // One BIOS boot, vagrant-libvirt's default firmware: the basic image's suite boots the same boot
  // chain under both firmwares and compares two boots' identities; this proves Vagrant's conventions.
  it('the libvirt box boots under BIOS; vagrant logs in with the insecure key and has passwordless sudo', () => {
    const report = boxesTest('vagrant-libvirt', path(LIBVIRT), work, ONE_BOOT('bios'));
    expectOneBoot(report, 'bios#1', ['boot-finished', 'sudo', 'no-failed-units', 'guest-agent', 'swap', 'vagrant-conventions']);
  });
});
