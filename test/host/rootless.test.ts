// Rootless builds: the subordinate id lookup, the mode each user gets (and every refusal), the
// namespace command line per util-linux version, and the CLI's refusal for a user without ranges.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseBuildMode, describeBuildMode, versionAtLeast, type IdFacts } from '../../src/rootless/build-mode.js';
import { mkosiFor, namespacePrefix, parseUnshareVersion, rangeSpec } from '../../src/rootless/namespace.js';
import { rangesOf, usableRange } from '../../src/rootless/subordinate-ids.js';
import { mkosiBuildArgs } from '../../src/image/mkosi-args.js';
import { parseBuildOptions } from '../../src/plan/options.js';
import { PrerequisiteError } from '../../src/system/errors.js';

const SUBUID = `# comment line
alice:100000:65536
1001:300000:65536
bob:165536:65536
alice:500000:1000
broken line
:1:2
`;

describe('subordinate id ranges', () => {
  it('finds every line of one user, by name and by uid, in file order', () => {
    expect(rangesOf(SUBUID, { uid: 1001, name: 'alice' })).toEqual([
      { start: 100000, count: 65536 },
      { start: 300000, count: 65536 },
      { start: 500000, count: 1000 },
    ]);
  });
  it('finds a user listed by uid only', () => {
    expect(rangesOf(SUBUID, { uid: 1001 })).toEqual([{ start: 300000, count: 65536 }]);
  });
  it('finds nothing for a user without lines', () => {
    expect(rangesOf(SUBUID, { uid: 1002, name: 'carol' })).toEqual([]);
    expect(rangesOf('', { uid: 1000, name: 'alice' })).toEqual([]);
  });
  it('uses the first range with room for a build namespace', () => {
    expect(
      usableRange([
        { start: 500000, count: 1000 },
        { start: 100000, count: 65536 },
      ]),
    ).toEqual({ start: 100000, count: 65536 });
    expect(usableRange([{ start: 500000, count: 1000 }])).toBeUndefined();
  });
});

const facts = (over: Partial<IdFacts> = {}): IdFacts => ({
  uid: 1000,
  gid: 1000,
  user: 'alice',
  subuid: 'alice:100000:65536\n',
  subgid: 'alice:200000:65536\n',
  newuidmap: true,
  newgidmap: true,
  unshare: '2.38.1',
  ...over,
});

function refusal(f: IdFacts): PrerequisiteError {
  try {
    chooseBuildMode(f, { singleUid: false });
  } catch (error) {
    expect(error).toBeInstanceOf(PrerequisiteError);
    return error as PrerequisiteError;
  }
  throw new Error('expected a refusal');
}

describe('build mode', () => {
  it('root builds run mkosi directly, with or without --single-uid', () => {
    expect(chooseBuildMode(facts({ uid: 0, gid: 0 }), { singleUid: false })).toEqual({ kind: 'root' });
    expect(chooseBuildMode(facts({ uid: 0, gid: 0 }), { singleUid: true })).toEqual({ kind: 'root' });
  });
  it('a user with ranges gets a fully mapped namespace', () => {
    const mode = chooseBuildMode(facts(), { singleUid: false });
    expect(mode).toEqual({ kind: 'subordinate-ids', subuid: { start: 100000, count: 65536 }, subgid: { start: 200000, count: 65536 }, unshare: '2.38.1' });
    expect(describeBuildMode(mode)).toBe('rootless, full id mapping: namespace ids 1-65535 are uids 100000-165534, gids 200000-265534');
  });
  it('--single-uid is what a user without ranges asks for', () => {
    expect(chooseBuildMode(facts({ subuid: undefined, newuidmap: false }), { singleUid: true })).toEqual({ kind: 'single-uid' });
  });
  it.each([
    ['no /etc/subuid', { subuid: undefined }, '/etc/subuid does not exist'],
    ['no range in /etc/subuid', { subuid: 'bob:100000:65536\n' }, '/etc/subuid has no range for alice'],
    ['no range in /etc/subgid', { subgid: '' }, '/etc/subgid has no range for alice'],
    ['ranges too small', { subuid: 'alice:100000:1000\nalice:300000:4096\n' }, '/etc/subuid gives alice only 100000-100999, 300000-304095; a build needs 65535 ids in one range'],
    ['no newuidmap', { newuidmap: false }, 'newuidmap and newgidmap (package uidmap) are not installed'],
    ['no newgidmap', { newgidmap: false }, 'newuidmap and newgidmap (package uidmap) are not installed'],
    ['no unshare', { unshare: undefined }, 'unshare (util-linux) is not installed'],
    ['an old unshare', { unshare: '2.37.2' }, 'unshare 2.37.2 cannot map id ranges (util-linux 2.38 or newer can)'],
  ])('refuses: %s', (_, over, why) => {
    const error = refusal(facts(over));
    expect(error.message).toBe(`rootless builds map a whole id range, but ${why}`);
    expect(error.hint).toBe(
      'as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 alice and apt-get install uidmap; or pass --single-uid (file owners in images will differ from a root build)',
    );
  });
  it('names a user without a passwd entry by uid', () => {
    expect(refusal(facts({ user: undefined, subuid: '' })).hint).toContain('--add-subgids 100000-165535 1000 ');
  });
});

describe('namespace command line', () => {
  it.each([
    ['2.38.1', '--map-users=100000,1,65535', '--map-groups=200000,1,65535'],
    ['2.39', '--map-users=1:100000:65535', '--map-groups=1:200000:65535'],
    ['2.40.2', '--map-users=1:100000:65535', '--map-groups=1:200000:65535'],
  ])('util-linux %s', (version, users, groups) => {
    const mode = chooseBuildMode(facts({ unshare: version }), { singleUid: false });
    if (mode.kind !== 'subordinate-ids') throw new Error('expected a mapped mode');
    expect(namespacePrefix(mode)).toEqual(['unshare', '--map-user=0', '--map-group=0', users, groups, '--setuid=0', '--setgid=0', '--keep-caps', '--']);
  });
  it('prefixes mkosi only in a mapped namespace', () => {
    const mkosi = { argv: ['python3', '-m', 'mkosi'], env: { PYTHONPATH: '/x' }, version: '25.3', source: 'pinned' as const };
    expect(mkosiFor(mkosi, { kind: 'root' })).toBe(mkosi);
    expect(mkosiFor(mkosi, { kind: 'single-uid' })).toBe(mkosi);
    const mapped = mkosiFor(mkosi, chooseBuildMode(facts(), { singleUid: false }));
    expect(mapped.argv.slice(-4)).toEqual(['--', 'python3', '-m', 'mkosi']);
    expect(mapped.argv[0]).toBe('unshare');
    expect(mapped.env).toEqual({ PYTHONPATH: '/x' });
  });
  it('reads versions', () => {
    expect(parseUnshareVersion('unshare from util-linux 2.38.1\n')).toBe('2.38.1');
    expect(parseUnshareVersion('something else')).toBeUndefined();
    expect(rangeSpec('2.38.1', 1, 5, 7)).toBe('5,1,7');
    expect(versionAtLeast('2.38', [2, 38])).toBe(true);
    expect(versionAtLeast('2.38.1', [2, 39])).toBe(false);
    expect(versionAtLeast('3.0', [2, 39])).toBe(true);
  });
});

describe('mkosi arguments', () => {
  const paths = { treeDir: '/t', outputDir: '/o', cacheDir: '/c/mkosi-cache', packageCacheDir: '/c/packages', workspaceDir: '/c/workspace', toolsTree: '/tools' };
  const args = (singleUid: boolean) => {
    const options = parseBuildOptions({ profile: 'basic', distribution: 'debian', sourceDateEpoch: '1763856000', singleUid }, { now: new Date() });
    return mkosiBuildArgs(options, options.targets[0]!, paths, 'abc');
  };
  it('name every directory mkosi writes to, since its defaults follow the uid', () => {
    expect(args(false)).toEqual(
      expect.arrayContaining(['--output-directory=/o', '--cache-directory=/c/mkosi-cache', '--package-cache-directory=/c/packages', '--workspace-directory=/c/workspace']),
    );
  });
  it('turn chown off and ask for the home hand-over only in single-uid mode', () => {
    expect(args(false).filter((a) => a.startsWith('--environment='))).toEqual([
      '--environment=BOXES_REVISION=abc',
      '--environment=BOXES_ARTIFACT=Debian-13-x86_64-basic-20251123.0.qcow2',
      '--environment=BOXES_QCOW2_COMPRESSION=zlib',
    ]);
    expect(args(true)).toEqual(expect.arrayContaining(['--environment=MKOSI_CHROOT_SUPPRESS_CHOWN=1', '--environment=BOXES_SINGLE_UID=1']));
  });
});

describe.skipIf(process.getuid?.() !== 0)('boxes build as a user without subordinate ids', () => {
  const root = resolve(import.meta.dirname, '../..');
  const dir = mkdtempSync(join(tmpdir(), 'boxes-rootless-'));
  chmodSync(dir, 0o777);
  // nobody has no /etc/subuid line on any usual system.
  const asNobody = (args: string[]) =>
    spawnSync('runuser', ['-u', 'nobody', '--', 'env', `BOXES_CACHE_DIR=${dir}/cache`, 'TMPDIR=/tmp', 'node', join(root, 'dist/cli.js'), ...args], {
      encoding: 'utf8',
      timeout: 60_000,
    });
  const build = ['build', '--profile', 'container', '--distribution', 'debian', '--output-dir', join(dir, 'out'), '--dry-run'];

  it('is refused with exit 2 and one line naming the fix', () => {
    const r = asNobody(build);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /^boxes: rootless builds map a whole id range, but \/etc\/sub[ug]id (has no range for nobody|does not exist) \(as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 nobody and apt-get install uidmap; or pass --single-uid/,
    );
  });
  it('--single-uid builds with a warning, and tells mkosi not to chown', () => {
    const r = asNobody([...build, '--single-uid']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^boxes: warning: --single-uid: mkosi cannot chown/m);
    expect(r.stdout).toContain('--environment=MKOSI_CHROOT_SUPPRESS_CHOWN=1');
    expect(r.stdout).not.toMatch(/^\s*unshare /m);
  });
  it('setup --check reports the refusal and its fix', () => {
    const r = asNobody(['setup', '--check']);
    expect(r.stdout).toMatch(/^MISSING build mode +builds refused: rootless builds map a whole id range/m);
    expect(r.stdout).toMatch(/fix: as root: usermod --add-subuids/);
  });
});
