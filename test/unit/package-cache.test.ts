import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clonePackageCache, mergePackageCache } from '../../src/image/package-cache.js';

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'boxes-pkgcache-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('a private clone of the package download cache', () => {
  it('links every shared file (the same inode: nothing copied) and leaves partial downloads and locks out', async () => {
    const shared = tree({ 'cache/apt/archives/a_1_amd64.deb': 'A', 'cache/apt/archives/lock': '', 'cache/apt/archives/partial/b_1_amd64.deb': 'half' });
    const clone = join(mkdtempSync(join(tmpdir(), 'boxes-clone-')), 'c');
    await clonePackageCache(shared, clone);
    const deb = 'cache/apt/archives/a_1_amd64.deb';
    expect(statSync(join(clone, deb)).ino).toBe(statSync(join(shared, deb)).ino);
    expect(existsSync(join(clone, 'cache/apt/archives/lock'))).toBe(false);
    expect(existsSync(join(clone, 'cache/apt/archives/partial'))).toBe(false);
  });

  it('starts empty from a shared cache that does not exist yet, and creates it', async () => {
    const shared = join(mkdtempSync(join(tmpdir(), 'boxes-pkgcache-')), 'debian-default');
    const clone = join(mkdtempSync(join(tmpdir(), 'boxes-clone-')), 'c');
    await clonePackageCache(shared, clone);
    expect(statSync(shared).isDirectory()).toBe(true);
    expect(statSync(clone).isDirectory()).toBe(true);
  });

  it('gives back only names the shared cache lacks, never a half download, and keeps what it had', async () => {
    const shared = tree({ 'cache/apt/archives/a_1_amd64.deb': 'A' });
    const clone = tree({
      'cache/apt/archives/a_1_amd64.deb': 'other bytes under the same name',
      'cache/apt/archives/c_2_amd64.deb': 'C',
      'cache/apt/archives/partial/d_1_amd64.deb': 'half',
      'cache/pacman/pkg/e-1-1-x86_64.pkg.tar.zst': 'E',
    });
    expect(await mergePackageCache(clone, shared)).toBe(2);
    expect(readFileSync(join(shared, 'cache/apt/archives/a_1_amd64.deb'), 'utf8')).toBe('A');
    expect(readFileSync(join(shared, 'cache/apt/archives/c_2_amd64.deb'), 'utf8')).toBe('C');
    expect(readFileSync(join(shared, 'cache/pacman/pkg/e-1-1-x86_64.pkg.tar.zst'), 'utf8')).toBe('E');
    expect(existsSync(join(shared, 'cache/apt/archives/partial/d_1_amd64.deb'))).toBe(false);
  });

  it('copies where it cannot link (another filesystem), and a copy appears whole under its name', async () => {
    const other = '/dev/shm';
    const here = mkdtempSync(join(tmpdir(), 'boxes-pkgcache-'));
    if (!existsSync(other) || statSync(other).dev === statSync(here).dev) return;
    const shared = mkdtempSync(join(other, 'boxes-pkgcache-'));
    mkdirSync(join(shared, 'cache/apt/archives'), { recursive: true });
    writeFileSync(join(shared, 'cache/apt/archives/a_1_amd64.deb'), 'A');
    const clone = join(here, 'clone');
    try {
      await clonePackageCache(shared, clone);
      expect(readFileSync(join(clone, 'cache/apt/archives/a_1_amd64.deb'), 'utf8')).toBe('A');
      writeFileSync(join(clone, 'cache/apt/archives/b_1_amd64.deb'), 'B');
      expect(await mergePackageCache(clone, shared)).toBe(1);
      expect(readdirSync(join(shared, 'cache/apt/archives')).sort()).toEqual(['a_1_amd64.deb', 'b_1_amd64.deb']);
      expect(readFileSync(join(shared, 'cache/apt/archives/b_1_amd64.deb'), 'utf8')).toBe('B');
    } finally {
      rmSync(shared, { recursive: true, force: true });
    }
  });
});
