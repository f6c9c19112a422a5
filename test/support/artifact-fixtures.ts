// Small artifacts of every kind for audit tests: a root tree with a clean baseline, optionally with
// one planted problem, packed as an OCI archive, a GPT disk (raw or qcow2) or a Vagrant box.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tar from 'tar';

export type Plant = 'host-key' | 'machine-id' | 'history' | 'setuid' | 'root-password' | 'user-password' | 'world-writable' | 'pacman-key';

/** Where each planted problem lands, as the audit reports it. */
export const PLANTED: Record<Plant, { rule: string; path: string }> = {
  'host-key': { rule: 'ssh-host-key', path: '/etc/ssh/ssh_host_ed25519_key' },
  'machine-id': { rule: 'machine-id', path: '/etc/machine-id' },
  history: { rule: 'shell-history', path: '/root/.bash_history' },
  setuid: { rule: 'setuid', path: '/usr/local/bin/evil' },
  'root-password': { rule: 'password', path: '/etc/shadow' },
  'user-password': { rule: 'password', path: '/etc/shadow' },
  'world-writable': { rule: 'world-writable', path: '/etc/profile.d/open.sh' },
  'pacman-key': { rule: 'private-key', path: '/etc/pacman.d/gnupg/private-keys-v1.d/ABCD.key' },
};

const put = (root: string, path: string, text: string, mode = 0o644) => {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
  chmodSync(join(root, path), mode);
};

export function rootTree(plant?: Plant): string {
  const root = mkdtempSync(join(tmpdir(), 'boxes-tree-'));
  const rootHash = plant === 'root-password' ? '$6$salt$hash' : '!';
  const userHash = plant === 'user-password' ? '$6$salt$hash' : '!';
  put(root, 'etc/shadow', `root:${rootHash}:20000::::::\ndebian:${userHash}:20000:0:99999:7:::\n`, 0o640);
  put(root, 'etc/machine-id', plant === 'machine-id' ? '0123456789abcdef0123456789abcdef\n' : 'uninitialized\n');
  put(root, 'etc/ssh/sshd_config', 'PermitRootLogin no\n');
  put(root, 'etc/profile.d/open.sh', 'true\n', plant === 'world-writable' ? 0o666 : 0o644);
  put(root, 'usr/bin/su', '#!/bin/sh\n', 0o4755);
  // dpkg lists the pre-/usr-merge path: the audit treats /bin as /usr/bin.
  put(root, 'var/lib/dpkg/info/login.list', '/.\n/bin\n/bin/su\n');
  put(root, 'home/debian/.profile', 'PATH=$PATH\n');
  mkdirSync(join(root, 'tmp'));
  chmodSync(join(root, 'tmp'), 0o1777);
  if (plant === 'host-key') put(root, 'etc/ssh/ssh_host_ed25519_key', '-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n', 0o600);
  if (plant === 'history') put(root, 'root/.bash_history', 'ls\n', 0o600);
  if (plant === 'setuid') put(root, 'usr/local/bin/evil', '#!/bin/sh\n', 0o4755);
  if (plant === 'pacman-key') put(root, 'etc/pacman.d/gnupg/private-keys-v1.d/ABCD.key', 'Key: (private-key ...)\n', 0o600);
  return root;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** An OCI archive of one layer per tree (later trees may hold whiteouts), under these ref names. */
export function ociArchive(trees: string[], out: string, refs: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'boxes-oci-'));
  mkdirSync(join(dir, 'blobs/sha256'), { recursive: true });
  const blob = (data: Buffer) => {
    writeFileSync(join(dir, 'blobs/sha256', sha(data)), data);
    return { digest: `sha256:${sha(data)}`, size: data.length };
  };
  const layers = trees.map((tree) => {
    const file = join(dir, `layer-${sha(Buffer.from(tree))}.tar.gz`);
    tar.c({ gzip: true, file, cwd: tree, sync: true, portable: false }, ['.']);
    return { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...blob(readFileSync(file)) };
  });
  const config = { mediaType: 'application/vnd.oci.image.config.v1+json', ...blob(Buffer.from(JSON.stringify({ rootfs: { type: 'layers' } }))) };
  const manifest = { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...blob(Buffer.from(JSON.stringify({ schemaVersion: 2, config, layers }))) };
  const manifests = refs.length === 0 ? [manifest] : refs.map((ref) => ({ ...manifest, annotations: { 'org.opencontainers.image.ref.name': ref } }));
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  tar.c({ file: out, cwd: dir, sync: true }, ['oci-layout', 'index.json', 'blobs']);
  return out;
}

/** A GPT disk whose x86-64 root partition is an ext4 made from the tree. */
export function diskImage(tree: string, out: string, format: 'raw' | 'qcow2'): string {
  const dir = mkdtempSync(join(tmpdir(), 'boxes-disk-'));
  const fs = join(dir, 'root.ext4');
  execFileSync('mkfs.ext4', ['-q', '-F', '-d', tree, fs, '24M'], { stdio: 'pipe' });
  const raw = format === 'raw' ? out : join(dir, 'disk.raw');
  execFileSync('truncate', ['-s', '32M', raw]);
  execFileSync('sfdisk', ['--quiet', raw], { input: 'label: gpt\nstart=2048, size=49152, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709\n', stdio: ['pipe', 'pipe', 'pipe'] });
  execFileSync('dd', [`if=${fs}`, `of=${raw}`, 'bs=1M', 'seek=1', 'conv=notrunc,sparse', 'status=none']);
  if (format === 'qcow2') execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, out]);
  return out;
}

/**
 * A raw GPT disk, one 24 MiB partition per part: an ext4 or FAT filesystem made from `tree`, or
 * `bytes` written raw (a partition without a filesystem).
 */
export function multiPartitionDisk(parts: { tree?: string; type: string; uuid?: string; fs?: 'ext4' | 'vfat'; bytes?: Buffer }[], out: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'boxes-disk-'));
  execFileSync('truncate', ['-s', `${8 + parts.length * 24}M`, out]);
  const script = ['label: gpt', ...parts.map((p, i) => `start=${2048 + i * 49152}, size=49152, type=${p.type}${p.uuid ? `, uuid=${p.uuid}` : ''}`)].join('\n');
  execFileSync('sfdisk', ['--quiet', out], { input: `${script}\n`, stdio: ['pipe', 'pipe', 'pipe'] });
  parts.forEach((p, i) => {
    const fs = join(dir, `p${i}.img`);
    if (p.bytes) writeFileSync(fs, p.bytes);
    else if (p.fs === 'vfat') {
      execFileSync('mkfs.vfat', ['-C', '-i', '1234ABCD', fs, String(24 * 1024)], { stdio: 'pipe' });
      const names = readdirSync(p.tree!);
      if (names.length > 0) execFileSync('mcopy', ['-s', '-i', fs, ...names.map((n) => join(p.tree!, n)), '::/'], { stdio: 'pipe' });
    } else execFileSync('mkfs.ext4', ['-q', '-F', '-d', p.tree!, fs, '24M'], { stdio: 'pipe' });
    execFileSync('dd', [`if=${fs}`, `of=${out}`, 'bs=1M', `seek=${1 + i * 24}`, 'conv=notrunc,sparse', 'status=none']);
  });
  return out;
}

/** A vagrant-libvirt box around a qcow2 disk made from the tree. */
export function vagrantBox(tree: string, out: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'boxes-box-'));
  diskImage(tree, join(dir, 'box.img'), 'qcow2');
  writeFileSync(join(dir, 'metadata.json'), '{"format":"qcow2","provider":"libvirt","virtual_size":1}');
  writeFileSync(join(dir, 'Vagrantfile'), 'Vagrant.configure("2") do |config|\nend\n');
  tar.c({ gzip: true, file: out, cwd: dir, sync: true }, ['Vagrantfile', 'box.img', 'metadata.json']);
  return out;
}
