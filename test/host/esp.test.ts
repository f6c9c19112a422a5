// postout/lib/esp.sh: two ESPs holding the same files, written in different directory orders (as
// systemd-repart's mcopy does on filesystems that list directories differently), come out
// byte-identical once sorted, and still hold every file. mkfs.vfat runs with --invariant here:
// Debian 12's ignores SOURCE_DATE_EPOCH, the tools tree's honours it.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const FILES = [
  'EFI/debian/grub.cfg',
  'EFI/BOOT/BOOTX64.EFI',
  'grub/grub.cfg',
  'grub/fonts/unicode.pf2',
  'grub/i386-pc/normal.mod',
  'grub/i386-pc/linux.mod',
  'boxes/6.12/vmlinuz',
  'boxes/initrd',
  'loader/entries/a.conf',
];
const ESP_START = 2048 * 512;
const ESP_SIZE = 512 * 2 ** 20;

function tools(dir: string): NodeJS.ProcessEnv {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const real = execFileSync('bash', ['-c', 'command -v mkfs.vfat || echo /usr/sbin/mkfs.vfat'], {
    encoding: 'utf8',
    env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` },
  }).trim();
  writeFileSync(join(bin, 'mkfs.vfat'), `#!/bin/sh\nexec ${real} --invariant "$@"\n`);
  chmodSync(join(bin, 'mkfs.vfat'), 0o755);
  return { ...process.env, PATH: `${bin}:${process.env.PATH}:/usr/sbin:/sbin`, OUTPUTDIR: dir, SOURCE_DATE_EPOCH: '1763856000', MTOOLS_SKIP_CHECK: '1' };
}

/** A GPT disk whose ESP gets FILES in the given order, directories first where they are needed. */
function disk(dir: string, order: string[], env: NodeJS.ProcessEnv): string {
  const raw = join(dir, `disk-${order[0]!.replaceAll('/', '_')}.raw`);
  execFileSync('truncate', ['-s', String(ESP_START + ESP_SIZE + 2 ** 20), raw]);
  execFileSync('sfdisk', ['--quiet', raw], {
    input: `label: gpt\nlabel-id: 3F8E2C4A-1B7D-4E6F-9A0B-C1D2E3F40516\nstart=2048, size=${ESP_SIZE / 512}, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=6A1B2C3D-4E5F-4A6B-8C7D-8E9FA0B1C2D3\n`,
    env,
  });
  const esp = join(dir, 'esp.img');
  execFileSync('rm', ['-f', esp]);
  execFileSync('truncate', ['-s', String(ESP_SIZE), esp]);
  execFileSync('mkfs.vfat', ['-i', 'da172a1c', '-n', 'ESP', '-F', '32', '-S', '4096', esp], { env });
  const made = new Set<string>();
  for (const file of order) {
    const parts = file.split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!made.has(d)) execFileSync('mmd', ['-i', esp, `::/${d}`], { env });
      made.add(d);
    }
    const source = join(dir, 'content');
    writeFileSync(source, `content of ${file}\n`.repeat(500));
    utimesSync(source, 1763856000, 1763856000);
    execFileSync('mcopy', ['-m', '-i', esp, source, `::/${file}`], { env });
  }
  execFileSync('dd', [`if=${esp}`, `of=${raw}`, 'bs=1M', 'oflag=seek_bytes', `seek=${ESP_START}`, 'conv=notrunc', 'status=none']);
  return raw;
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const sortEsp = (raw: string, env: NodeJS.ProcessEnv) =>
  execFileSync('bash', ['-c', `set -euo pipefail; . ${join(root, 'postout/lib/esp.sh')}; sort_esp "$1"`, 'bash', raw], { env, encoding: 'utf8' });

describe('sort_esp', () => {
  it('gives one layout whatever order the files were written in, and keeps every file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'boxes-esp-'));
    const env = tools(dir);
    const a = disk(dir, [...FILES].sort(), env);
    const b = disk(dir, [...FILES].sort().reverse(), env);
    expect(sha(a)).not.toBe(sha(b));
    sortEsp(a, env);
    sortEsp(b, env);
    expect(sha(a)).toBe(sha(b));
    for (const file of FILES) expect(execFileSync('mtype', ['-i', `${a}@@${ESP_START}`, `::/${file}`], { env, encoding: 'utf8' })).toBe(`content of ${file}\n`.repeat(500));
    // Each directory's entries come in byte order (the order that was written last above).
    const list = (d: string) =>
      execFileSync('mdir', ['-b', '-i', `${a}@@${ESP_START}`, d], { env, encoding: 'utf8' })
        .trim()
        .split('\n');
    expect(list('::/')).toEqual(['::/EFI/', '::/boxes/', '::/grub/', '::/loader/']);
    expect(list('::/EFI')).toEqual(['::/EFI/BOOT/', '::/EFI/debian/']);
    expect(list('::/grub/i386-pc')).toEqual(['::/grub/i386-pc/linux.mod', '::/grub/i386-pc/normal.mod']);
    // Three disks of a few hundred mtools calls each: seconds alone, a minute beside a build.
  }, 120_000);

  it('leaves a disk without an ESP alone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'boxes-esp-'));
    const raw = join(dir, 'plain.raw');
    writeFileSync(raw, Buffer.alloc(2 ** 20, 1));
    expect(sortEsp(raw, tools(dir))).toContain('has no ESP');
    expect(readFileSync(raw)).toEqual(Buffer.alloc(2 ** 20, 1));
  }, 120_000);
});
