// postout/vagrant-*.sh on small fixture disks: equal inputs give equal boxes, the seed alone
// decides UUIDs, MAC and VMDK CID, and each box holds what its provider reads.
import { describeArtifact } from '../../src/artifact/artifact.js';
import type { Distribution } from '../../src/artifact/profiles.js';
import { hookEnv } from '../support/hook-env.js';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, openSync, writeSync, closeSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const SEED = '0e6b1c4d-7f52-4a39-9d0e-5b8a2c61f3e7';
const EPOCH = 1763856000;
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** An output directory as mkosi leaves it before the hooks: disk.raw and the config. */
function fixture(opts: { seed?: string; distribution?: string; bytes?: number } = {}): string {
  const out = mkdtempSync(join(tmpdir(), 'boxes-vagrant-'));
  const raw = join(out, 'disk.raw');
  writeFileSync(raw, '');
  truncateSync(raw, opts.bytes ?? 64 * 2 ** 20);
  const fd = openSync(raw, 'r+');
  writeSync(fd, Buffer.from('EFI PART and some data'), 0, 22, 512);
  writeSync(fd, Buffer.alloc(70_000, 7), 0, 70_000, 3 * 2 ** 20);
  closeSync(fd);
  const distribution = opts.distribution ?? 'debian';
  writeFileSync(
    join(out, 'config.json'),
    JSON.stringify({
      Output: 'disk',
      SourceDateEpoch: EPOCH,
      ImageVersion: '20251123.0',
      Seed: opts.seed ?? SEED,
      Distribution: distribution,
      Release: distribution === 'arch' ? 'rolling' : 'trixie',
      Profiles: [],
    }),
  );
  return out;
}

function runHook(hook: string, out: string, distribution = 'debian') {
  // The names come from the artifact's description, as boxes build passes them.
  const artifact = describeArtifact({
    distribution: distribution as Distribution,
    release: distribution === 'arch' ? 'rolling' : 'trixie',
    architecture: 'x86-64',
    profile: hook.replace(/\.sh$/, ''),
    version: '20251123.0',
  });
  const r = spawnSync('bash', [join(root, 'postout', hook)], {
    env: { ...process.env, OUTPUTDIR: out, MKOSI_CONFIG: join(out, 'config.json'), SRCDIR: root, ...hookEnv(artifact) },
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
}

function members(box: string): { name: string; line: string }[] {
  return execFileSync('tar', ['--list', '--verbose', '--numeric-owner', '--full-time', '--file', box], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } })
    .trim()
    .split('\n')
    .map((line) => ({ name: line.split(/\s+/).at(-1)!, line }));
}

function unpack(box: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'boxes-unpacked-'));
  execFileSync('tar', ['-xzf', box, '-C', dir]);
  return dir;
}

function expectDeterministicTar(box: string, names: string[]) {
  const list = members(box);
  expect(list.map((m) => m.name)).toEqual(names);
  for (const m of list) expect(m.line).toMatch(/^-rw-r--r-- 0\/0 .* 2025-11-23 00:00:00 /);
  const head = readFileSync(box).subarray(0, 10);
  // gzip -n: no file name flag, no timestamp.
  expect(head[3]! & 0x08).toBe(0);
  expect(head.readUInt32LE(4)).toBe(0);
}

const LIBVIRT = 'Debian-13-x86_64-libvirt-20251123.0.box';
const VIRTUALBOX = 'Debian-13-x86_64-virtualbox-20251123.0.box';

describe('vagrant-libvirt hook', () => {
  it('packs box.img, metadata.json and a Vagrantfile reproducibly, and leaves the raw disk empty', () => {
    const [a, b] = [fixture(), fixture()];
    runHook('vagrant-libvirt.sh', a);
    runHook('vagrant-libvirt.sh', b);
    const box = join(a, LIBVIRT);
    expect(sha(readFileSync(box))).toBe(sha(readFileSync(join(b, LIBVIRT))));
    expect(readFileSync(`${box}.SHA256`, 'utf8')).toBe(`${sha(readFileSync(box))}  ${LIBVIRT}\n`);
    expect(readFileSync(join(a, 'disk.raw')).length).toBe(0);
    expectDeterministicTar(box, ['Vagrantfile', 'box.img', 'metadata.json']);
    const dir = unpack(box);
    expect(JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8'))).toEqual({ provider: 'libvirt', format: 'qcow2', virtual_size: 1 });
    expect(readFileSync(join(dir, 'Vagrantfile'), 'utf8')).toMatch(/libvirt\.driver = "kvm"[\s\S]*libvirt\.memory = \d+[\s\S]*libvirt\.cpus = \d+/);
    const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', join(dir, 'box.img')], { encoding: 'utf8' }));
    expect(info).toMatchObject({ format: 'qcow2', 'virtual-size': 64 * 2 ** 20 });
    // The disk inside is the raw disk, byte for byte.
    execFileSync('qemu-img', ['compare', '-f', 'qcow2', '-F', 'raw', join(dir, 'box.img'), join(fixture(), 'disk.raw')]);
  });

  it.each([
    [2 ** 30, 1],
    [2 ** 30 + 512, 2],
    [40958 * 2 ** 20, 40],
  ])('rounds a %d-byte disk up to %d GiB', (bytes, gib) => {
    const out = fixture({ bytes });
    runHook('vagrant-libvirt.sh', out);
    const meta = JSON.parse(execFileSync('tar', ['-xzOf', join(out, LIBVIRT), 'metadata.json'], { encoding: 'utf8' }));
    expect(meta.virtual_size).toBe(gib);
  });
});

const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@' });

interface Unpacked {
  dir: string;
  // fast-xml-parser's tree of the OVF: its shape is what the assertions check.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  ovf: Record<string, any>;
  vagrantfile: string;
}

function virtualbox(opts: { seed?: string; distribution?: string } = {}): Unpacked & { box: Buffer } {
  const out = fixture(opts);
  runHook('vagrant-virtualbox.sh', out, opts.distribution);
  const name = opts.distribution === 'arch' ? 'Arch-Linux-x86_64-virtualbox-20251123.0.box' : VIRTUALBOX;
  const dir = unpack(join(out, name));
  return {
    dir,
    box: readFileSync(join(out, name)),
    ovf: xml.parse(readFileSync(join(dir, 'box.ovf'), 'utf8')),
    vagrantfile: readFileSync(join(dir, 'Vagrantfile'), 'utf8'),
  };
}

function facts(u: Unpacked) {
  const env = u.ovf.Envelope;
  const machine = env.VirtualSystem['vbox:Machine'];
  const vmdk = readFileSync(join(u.dir, 'box-disk001.vmdk'));
  return {
    diskUuid: env.DiskSection.Disk['@vbox:uuid'] as string,
    imageUuid: machine.StorageControllers.StorageController.AttachedDevice.Image['@uuid'] as string,
    machineUuid: machine['@uuid'] as string,
    mac: machine.Hardware.Network.Adapter['@MACAddress'] as string,
    baseMac: /config\.vm\.base_mac = "([0-9a-f]+)"/.exec(u.vagrantfile)?.[1],
    cid: /\nCID=([0-9a-f]+)\n/.exec(vmdk.subarray(512, 512 * 21).toString('latin1'))?.[1],
  };
}

describe('vagrant-virtualbox hook', () => {
  it('packs box.ovf, a streamOptimized VMDK, metadata.json and a Vagrantfile, byte-identical for the same seed', () => {
    const a = virtualbox();
    const b = virtualbox();
    expect(sha(a.box)).toBe(sha(b.box));
    expect(JSON.parse(readFileSync(join(a.dir, 'metadata.json'), 'utf8'))).toEqual({ provider: 'virtualbox' });
    const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', join(a.dir, 'box-disk001.vmdk')], { encoding: 'utf8' }));
    expect(info.format).toBe('vmdk');
    expect(info['virtual-size']).toBe(64 * 2 ** 20);
    expect(info['format-specific'].data['create-type']).toBe('streamOptimized');
    execFileSync('qemu-img', ['check', join(a.dir, 'box-disk001.vmdk')]);
  });

  it('writes an OVF that VirtualBox can import and Vagrant can match', () => {
    const u = virtualbox();
    const env = u.ovf.Envelope;
    expect(env['@xmlns']).toBe('http://schemas.dmtf.org/ovf/envelope/1');
    expect(env.References.File['@ovf:href']).toBe('box-disk001.vmdk');
    const disk = env.DiskSection.Disk;
    expect(disk['@ovf:capacity']).toBe(String(64 * 2 ** 20));
    expect(disk['@ovf:fileRef']).toBe(env.References.File['@ovf:id']);
    expect(disk['@ovf:format']).toBe('http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized');
    const items = env.VirtualSystem.VirtualHardwareSection.Item as Record<string, string | number>[];
    const byType = (t: number) => items.filter((i) => i['rasd:ResourceType'] === t);
    const [controller] = byType(20);
    const [diskItem] = byType(17);
    expect(controller!['rasd:ResourceSubType']).toBe('AHCI');
    expect(diskItem!['rasd:HostResource']).toBe(`/disk/${disk['@ovf:diskId']}`);
    expect(diskItem!['rasd:Parent']).toBe(controller!['rasd:InstanceID']);
    expect(byType(4)[0]).toMatchObject({ 'rasd:AllocationUnits': 'MegaBytes', 'rasd:VirtualQuantity': 1024 });
    expect(byType(3)[0]!['rasd:VirtualQuantity']).toBe(2);
    expect(byType(10)).toHaveLength(1);
    const machine = env.VirtualSystem['vbox:Machine'];
    expect(machine).toMatchObject({ '@name': 'debian', '@OSType': 'Debian_64', '@lastStateChange': '2025-11-23T00:00:00Z', '@version': '1.16-linux' });
    expect(machine.Hardware.Memory['@RAMSize']).toBe('1024');
    const f = facts(u);
    // VirtualBox compares these as strings: lowercase, braces only around the machine's reference.
    expect(f.diskUuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(f.imageUuid).toBe(`{${f.diskUuid}}`);
    expect(f.machineUuid).toMatch(/^\{[0-9a-f-]{36}\}$/);
    expect(f.machineUuid).not.toBe(f.imageUuid);
    expect(f.mac).toMatch(/^080027[0-9a-f]{6}$/);
    expect(f.baseMac).toBe(f.mac);
  });

  it('names Arch Linux for VirtualBox', () => {
    const machine = virtualbox({ distribution: 'arch' }).ovf.Envelope.VirtualSystem['vbox:Machine'];
    expect(machine).toMatchObject({ '@name': 'archlinux', '@OSType': 'ArchLinux_64' });
  });

  it('derives UUIDs, MAC and CID from the seed alone', () => {
    const a = facts(virtualbox());
    const b = facts(virtualbox({ seed: 'ffffffff-7f52-4a39-9d0e-5b8a2c61f3e7' }));
    expect(a.cid).toMatch(/^[0-9a-f]{8}$/);
    for (const key of ['diskUuid', 'machineUuid', 'mac', 'cid'] as const) expect(a[key], key).not.toBe(b[key]);
  });
});

describe('set_vmdk_cid', () => {
  const lib = join(root, 'postout/lib/vmdk.sh');
  const setCid = (file: string, cid: string) => spawnSync('bash', ['-c', `. "${lib}" && set_vmdk_cid "$1" "$2"`, 'x', file, cid], { encoding: 'utf8' });

  it('makes two conversions of one disk identical, and the VMDK stays valid', () => {
    const out = fixture();
    const vmdks = ['a', 'b'].map((d) => {
      mkdirSync(join(out, d));
      execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', join(out, 'disk.raw'), 'disk.vmdk'], { cwd: join(out, d) });
      return join(out, d, 'disk.vmdk');
    });
    // qemu-img picks a random CID for each file.
    expect(sha(readFileSync(vmdks[0]!))).not.toBe(sha(readFileSync(vmdks[1]!)));
    for (const v of vmdks) expect(setCid(v, '0badc0de').status).toBe(0);
    expect(sha(readFileSync(vmdks[0]!))).toBe(sha(readFileSync(vmdks[1]!)));
    expect(readFileSync(vmdks[0]!).subarray(512, 1024).toString('latin1')).toContain('\nCID=0badc0de\n');
    execFileSync('qemu-img', ['check', vmdks[0]!]);
    execFileSync('qemu-img', ['compare', '-F', 'raw', vmdks[0]!, join(out, 'disk.raw')]);
  });

  it('refuses a file that is not a VMDK, and a CID that is not 8 hex digits', () => {
    const out = fixture();
    const notVmdk = setCid(join(out, 'disk.raw'), '0badc0de');
    expect(notVmdk.status).not.toBe(0);
    expect(notVmdk.stderr).toContain('not a VMDK sparse extent');
    execFileSync('qemu-img', ['convert', '-O', 'vmdk', '-o', 'subformat=streamOptimized', join(out, 'disk.raw'), join(out, 'd.vmdk')]);
    expect(setCid(join(out, 'd.vmdk'), 'xyz').stderr).toContain('CID must be 8 hex digits');
  });
});
