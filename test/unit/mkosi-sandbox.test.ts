import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSandboxLayout, sandboxPrefix, type SandboxLayout } from '../../src/adapters/mkosi-sandbox.js';
import { HOST_TOOLBOX, requireVisibleToTools, treeToolbox } from '../../src/system/toolbox.js';
import { findOvmf } from '../../src/vm/firmware.js';

const layout: SandboxLayout = {
  python: 'python3',
  script: '/cache/mkosi/sandbox.py',
  tree: '/cache/tools/t',
  treeRoots: { bin: { kind: 'symlink', target: 'usr/bin' }, lib64: { kind: 'bind' } },
  hostRoots: { work: { kind: 'bind' }, etc: { kind: 'bind' }, lib: { kind: 'symlink', target: 'usr/lib' } },
  etcFromTree: ['etc/ld.so.cache'],
};

/** A host root with a merged /usr and a tools tree, both as directories in a scratch place. */
function fakeRoots() {
  const base = mkdtempSync(join(tmpdir(), 'sandbox-'));
  const host = join(base, 'host');
  const tree = join(base, 'tree');
  for (const d of ['usr/bin', 'etc', 'home', 'var/tmp', 'proc', 'work', 'nix']) mkdirSync(join(host, d), { recursive: true });
  symlinkSync('usr/bin', join(host, 'bin'));
  symlinkSync('usr/lib', join(host, 'lib'));
  writeFileSync(join(host, 'etc/ld.so.cache'), '');
  for (const d of ['usr/bin', 'usr/share/OVMF', 'etc/alternatives']) mkdirSync(join(tree, d), { recursive: true });
  symlinkSync('usr/bin', join(tree, 'bin'));
  symlinkSync('usr/sbin', join(tree, 'sbin'));
  writeFileSync(join(tree, 'etc/ld.so.cache'), '');
  return { host, tree };
}

describe("mkosi's sandbox as a command prefix", () => {
  it("puts the tree's /usr and roots over the host's and keeps every other host directory, sorted", () => {
    expect(sandboxPrefix(layout)).toEqual([
      'python3',
      '-SI',
      '/cache/mkosi/sandbox.py',
      '--proc',
      '/proc',
      '--ro-bind',
      '/cache/tools/t/usr',
      '/usr',
      '--symlink',
      'usr/bin',
      '/bin',
      '--ro-bind',
      '/cache/tools/t/lib64',
      '/lib64',
      '--ro-bind',
      '/cache/tools/t/etc/ld.so.cache',
      '/etc/ld.so.cache',
      '--bind',
      '/etc',
      '/etc',
      '--symlink',
      'usr/lib',
      '/lib',
      '--bind',
      '/work',
      '/work',
      '--setenv',
      'PATH',
      '/usr/bin:/usr/sbin',
      '--same-dir',
    ]);
  });

  it('reads the layout: not the host /usr, /proc, /nix or its bin links; the tree etc file only where the host has a mount point', async () => {
    const { host, tree } = fakeRoots();
    const l = await readSandboxLayout(tree, '/s.py', 'python3', host);
    expect(l.treeRoots).toEqual({ bin: { kind: 'symlink', target: 'usr/bin' }, sbin: { kind: 'symlink', target: 'usr/sbin' } });
    expect(Object.keys(l.hostRoots).sort()).toEqual(['etc', 'home', 'var', 'work']);
    // The host has /etc/ld.so.cache but no /etc/alternatives to mount the tree's over.
    expect(l.etcFromTree).toEqual(['etc/ld.so.cache']);
  });

  it('runs a program behind the prefix and the two dashes; files are read from the tree', () => {
    const tools = treeToolbox('/cache/tools/t', ['sandbox']);
    expect(tools.wrap(['qemu-img', 'info', 'a b'])).toEqual(['sandbox', '--', 'qemu-img', 'info', 'a b']);
    expect(tools.file('/usr/share/OVMF/OVMF_CODE_4M.fd')).toBe('/cache/tools/t/usr/share/OVMF/OVMF_CODE_4M.fd');
    expect(HOST_TOOLBOX.wrap(['ssh', '-V'])).toEqual(['ssh', '-V']);
    expect(HOST_TOOLBOX.file('/usr/share/OVMF')).toBe('/usr/share/OVMF');
  });

  it("finds OVMF inside the tree and names it as the tree's QEMU sees it", () => {
    const { tree } = fakeRoots();
    for (const f of ['OVMF_CODE_4M.fd', 'OVMF_VARS_4M.fd']) writeFileSync(join(tree, 'usr/share/OVMF', f), '');
    expect(findOvmf(treeToolbox(tree, ['sandbox']))).toEqual({ code: '/usr/share/OVMF/OVMF_CODE_4M.fd', vars: '/usr/share/OVMF/OVMF_VARS_4M.fd' });
    expect(findOvmf(treeToolbox(join(tree, 'nothing'), ['sandbox']))).toBeUndefined();
  });

  it('refuses a host path the tree hides (below /usr and the roots it replaces), and only those', () => {
    for (const path of ['/usr', '/usr/src/out', '/lib64/x', '/bin/../usr/x']) expect(() => requireVisibleToTools('--output-dir', path)).toThrow(/--output-dir: .* is below \//);
    for (const path of ['/usrdata/out', '/var/tmp/out', '/home/u/usr/out']) expect(() => requireVisibleToTools('--output-dir', path)).not.toThrow();
  });
});
