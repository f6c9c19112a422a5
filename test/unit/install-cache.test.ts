import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { localMirrorState } from '../../src/image/archive-state.js';
import { holdsInstalledSet, installCacheDir, installCacheKey, KEEP_INSTALL_CACHES } from '../../src/image/install-cache.js';
import { fedClock } from '../support/fed-clock.js';
import { packageCacheKey } from '../../src/image/mkosi-args.js';

const scratch = mkdtempSync(join(tmpdir(), 'boxes-install-cache-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const facts = { treeDir: '/src/boxes', toolsTree: '/cache/tools/debian-trixie-1', mkosiVersion: '25.3', buildMode: 'root' };

function image(extra: Record<string, unknown> = {}) {
  return {
    Distribution: 'debian',
    Release: 'trixie',
    Packages: ['apt', 'linux-image-amd64'],
    SourceDateEpoch: 1763856000,
    Environment: { BOXES_REVISION: 'abc' },
    PrepareScripts: [],
    SkeletonTrees: [],
    BuildSources: [{ Source: '/src/boxes', Target: null }],
    ...extra,
  };
}

describe('install cache key', () => {
  it('ignores what mkosi applies after its cache point, and where the tree and outputs are', async () => {
    const base = await installCacheKey(image(), facts);
    const profile = image({
      VolatilePackages: ['cloud-init'],
      ExtraTrees: [{ Source: '/src/boxes/mkosi.profiles/cloud-init/extra', Target: null }],
      FinalizeScripts: ['/src/boxes/mkosi.vagrant/vagrant.finalize'],
      RepartDirectories: ['/src/boxes/mkosi.vm/repart/root-grow'],
      KernelCommandLine: ['lockdown=confidentiality'],
      Environment: { BOXES_REVISION: 'def', BOXES_VM_USER: 'vagrant' },
      OutputDirectory: '/elsewhere',
      Profiles: ['cloud-init'],
    });
    expect(await installCacheKey(profile, facts)).toBe(base);
    const moved = { ...facts, treeDir: '/tmp/copy/tree' };
    expect(await installCacheKey(image({ BuildSources: [{ Source: '/tmp/copy/tree', Target: null }] }), moved)).toBe(base);
  });

  it('changes with the packages, the epoch, the mirror, the tools tree, mkosi and the build mode', async () => {
    const base = await installCacheKey(image(), facts);
    const others = [
      await installCacheKey(image({ Packages: ['apt'] }), facts),
      await installCacheKey(image({ SourceDateEpoch: 1763942400 }), facts),
      await installCacheKey(image({ Mirror: 'http://mirror.example/debian' }), facts),
      await installCacheKey(image(), { ...facts, toolsTree: '/cache/tools/debian-trixie-2' }),
      await installCacheKey(image(), { ...facts, mkosiVersion: '26' }),
      await installCacheKey(image(), { ...facts, buildMode: 'subordinate-ids' }),
    ];
    expect(new Set([base, ...others]).size).toBe(others.length + 1);
  });

  it('counts the content of trees copied in before the cache point, and the environment once prepare scripts read it', async () => {
    const tree = join(scratch, 'skeleton');
    mkdirSync(join(tree, 'etc'), { recursive: true });
    writeFileSync(join(tree, 'etc/dpkg.cfg'), 'path-exclude=/usr/share/doc/*\n');
    const withTree = image({ SkeletonTrees: [{ Source: tree, Target: null }] });
    const before = await installCacheKey(withTree, facts);
    writeFileSync(join(tree, 'etc/dpkg.cfg'), 'path-exclude=/usr/share/man/*\n');
    expect(await installCacheKey(withTree, facts)).not.toBe(before);

    const prepared = (revision: string) => image({ PrepareScripts: ['/src/boxes/mkosi.prepare'], Environment: { BOXES_REVISION: revision } });
    expect(await installCacheKey(prepared('abc'), facts)).not.toBe(await installCacheKey(prepared('def'), facts));
  });
});

describe('install cache directories', () => {
  it('keeps the most recently used ones and removes the rest', async () => {
    const root = join(scratch, 'caches');
    mkdirSync(root);
    mkdirSync(join(root, 'not-a-cache'));
    for (let i = 0; i < KEEP_INSTALL_CACHES + 2; i++) {
      const dir = join(root, i.toString(16).padStart(16, '0'));
      mkdirSync(dir);
      utimesSync(dir, 1_700_000_000 + i, 1_700_000_000 + i);
    }
    const dir = await installCacheDir(root, '0'.repeat(16));
    expect(dir).toBe(join(root, '0'.repeat(16)));
    const left = readdirSync(root).sort();
    expect(left).toHaveLength(KEEP_INSTALL_CACHES + 1);
    // The one just used stays although it was the oldest; the two oldest others go.
    expect(left).toContain('0'.repeat(16));
    expect(existsSync(join(root, '1'.padStart(16, '0')))).toBe(false);
    expect(existsSync(join(root, '2'.padStart(16, '0')))).toBe(false);
    expect(left).toContain('not-a-cache');
  });

  it('holds an installed set once mkosi wrote the manifest beside its tree, not while the tree alone is there', async () => {
    const dir = join(scratch, 'holds');
    mkdirSync(join(dir, 'debian~trixie~x86-64.cache'), { recursive: true });
    mkdirSync(join(dir, 'debian~trixie~x86-64.metadata.cache'));
    expect(await holdsInstalledSet(dir)).toBe(false);
    writeFileSync(join(dir, 'arch~rolling~x86-64.manifest'), '{}');
    expect(await holdsInstalledSet(dir)).toBe(false);
    writeFileSync(join(dir, 'debian~trixie~x86-64.manifest'), '{}');
    expect(await holdsInstalledSet(dir)).toBe(true);
  });
});

describe('phases of a target build, from the steps mkosi logs', () => {
  const feed = (lines: (readonly [number, string])[], end: number) => fedClock(lines, end).finish();
  it('an uncached build: installed, then the image, then the post-output hook', () => {
    const lines = [
      [1_000, '‣  Installing Debian'],
      [50_000, '‣  Installing cache copies'],
      [60_000, '‣  Copying cached trees'],
      [60_500, '‣   Copying cached trees'],
      [61_000, '‣  Generating system users'],
      [101_500, '‣  Running post-output script /t/postout/qcow2.sh…'],
    ] as const;
    // The package set is in place when the main image's next step starts.
    expect(feed([...lines], 130_000)).toEqual({ packages: 'installed', seconds: { packages: 61, image: 40.5, postOutput: 28.5 } });
  });
  it("a cached build, whose default initrd's own cache steps (nested deeper) do not count", () => {
    const lines = [
      [100, '‣ Building boxes image'],
      [1_000, '‣  Copying cached trees'],
      [2_000, '‣   Installing cache copies'],
      [5_000, '‣  Generating system users'],
      [35_000, '‣  Running post-output script x'],
    ] as const;
    expect(feed([...lines], 50_000)).toEqual({ packages: 'cached', seconds: { packages: 5, image: 30, postOutput: 15 } });
  });
  it('without the cache step (another mkosi), says nothing rather than guess', () => {
    expect(feed([[1, '‣  Installing Debian']], 2)).toBeUndefined();
  });
});

describe('package download cache', () => {
  it('is one per remote mirror, and none kept for a local repository (a rebuilt package keeps its name)', () => {
    expect(packageCacheKey({ distribution: 'debian' })).toBe('debian-default');
    expect(packageCacheKey({ distribution: 'arch', mirror: 'https://geo.mirror.pkgbuild.com/' })).toBe('arch-geo.mirror.pkgbuild.com');
    expect(packageCacheKey({ distribution: 'debian', mirror: 'http://ftp.de.debian.org/debian' })).toBe('debian-ftp.de.debian.org-debian');
    expect(packageCacheKey({ distribution: 'arch', mirror: 'file:///srv/repo' })).toBeUndefined();
  });

  it("a local repository's state changes when a package in it is rebuilt under the same name", async () => {
    const repo = join(scratch, 'repo');
    mkdirSync(repo);
    writeFileSync(join(repo, 'core.db'), 'db');
    writeFileSync(join(repo, 'foo-1-1-x86_64.pkg.tar.zst'), 'first build');
    const before = await localMirrorState(repo);
    expect(await localMirrorState(repo)).toBe(before);
    writeFileSync(join(repo, 'foo-1-1-x86_64.pkg.tar.zst'), 'second build!');
    const after = await localMirrorState(repo);
    expect(after).not.toBe(before);
    const key = (localMirror: string) => installCacheKey(image({ Mirror: null, LocalMirror: 'file:///srv/repo' }), { ...facts, archive: localMirror });
    expect(await key(after)).not.toBe(await key(before));
  });
});
