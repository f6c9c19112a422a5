// Real mkosi builds of the container image, Debian from Debian's archive and Arch from a fixture
// repository, proven with podman, skopeo, umoci and chroot. Builds are shared across the checks.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const cli = join(root, 'dist/cli.js');
const work = mkdtempSync('/var/tmp/boxes-it-');
chmodSync(work, 0o755);
const cache = join(work, 'cache');
const EPOCH = '1763856000';
const VERSION = '20251123.0';
const ROOTLESS_USER = 'boxes-test';

function boxes(args: string[], opts: { user?: string; cacheDir?: string } = {}) {
  const env = { ...process.env, BOXES_CACHE_DIR: opts.cacheDir ?? cache };
  const argv = ['node', cli, 'build', '--source-date-epoch', EPOCH, '--json', ...args];
  const cmd = opts.user ? ['runuser', '-u', opts.user, '--', 'env', `BOXES_CACHE_DIR=${env.BOXES_CACHE_DIR}`, ...argv] : argv;
  const r = spawnSync(cmd[0]!, cmd.slice(1), { env, encoding: 'utf8', timeout: 25 * 60_000, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`boxes ${args.join(' ')} exited ${r.status}\n${r.stderr.slice(-4000)}`);
  return JSON.parse(r.stdout) as { artifacts: { path: string; sha256: string; digest: string }[]; toolsTree: string };
}
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });

/** umoci unpack of one ref into a bundle; returns the root filesystem path. */
function unpack(archive: string, ref: string): string {
  const dir = mkdtempSync(join(work, 'unpack-'));
  sh('tar', ['-xf', archive, '-C', dir]);
  sh('umoci', ['unpack', '--image', `${dir}:${ref}`, join(dir, 'bundle')]);
  return join(dir, 'bundle/rootfs');
}

function checkContent(rootfs: string, distribution: 'arch' | 'debian') {
  expect(readFileSync(join(rootfs, 'etc/shadow'), 'utf8')).toMatch(/^root:!:/m);
  const osRelease = readFileSync(join(rootfs, 'usr/lib/os-release'), 'utf8');
  expect(osRelease).toMatch(/^VERSION_ID=/m);
  expect(readdirSync(join(rootfs, 'var/log'))).toEqual([]);
  expect(existsSync(join(rootfs, 'var/cache/ldconfig/aux-cache'))).toBe(false);
  expect(existsSync(join(rootfs, 'etc/machine-id'))).toBe(false);
  expect(existsSync(join(rootfs, 'etc/.pwd.lock'))).toBe(false);
  expect(existsSync(join(rootfs, 'usr/share/man/man1'))).toBe(false);
  if (distribution === 'arch') {
    expect(existsSync(join(rootfs, 'var/lib/pacman/sync'))).toBe(false);
    expect(existsSync(join(rootfs, 'etc/pacman.d/gnupg'))).toBe(false);
    expect(osRelease).toContain(`VERSION_ID=${VERSION}`);
    for (const pkg of readdirSync(join(rootfs, 'var/lib/pacman/local')).filter((n) => n !== 'ALPM_DB_VERSION')) {
      expect(readFileSync(join(rootfs, 'var/lib/pacman/local', pkg, 'desc'), 'utf8')).toContain(`%INSTALLDATE%\n${EPOCH}\n`);
    }
    expect(readFileSync(join(rootfs, 'etc/pacman.conf'), 'utf8')).toMatch(/^NoExtract = .*usr\/share\/man/m);
  } else {
    expect(readdirSync(join(rootfs, 'var/lib/apt/lists')).filter((n) => n !== 'partial' && n !== 'lock')).toEqual([]);
    expect(existsSync(join(rootfs, 'var/lib/dpkg/status'))).toBe(true);
    expect(existsSync(join(rootfs, 'usr/bin/apt-get'))).toBe(true);
    expect(readFileSync(join(rootfs, 'etc/dpkg/dpkg.cfg.d/boxes-slim'), 'utf8')).toContain('path-exclude /usr/share/man/*');
    const sources = readdirSync(join(rootfs, 'etc/apt/sources.list.d')).map((n) => readFileSync(join(rootfs, 'etc/apt/sources.list.d', n), 'utf8')).join('');
    expect(sources).not.toMatch(/debian-debug|deb-src/);
  }
  expect(sh('chroot', [rootfs, '/usr/bin/bash', '-c', 'echo hello from $0']).trim()).toBe('hello from /usr/bin/bash');
}

function checkOci(archive: string, name: string, variant: string) {
  const inspect = JSON.parse(sh('skopeo', ['inspect', `oci-archive:${archive}:${variant}`]));
  expect(inspect.Created).toBe('2025-11-23T00:00:00Z');
  expect(inspect.Labels['org.opencontainers.image.version']).toBe(VERSION);
  expect(Object.keys(inspect.Labels).sort()).toEqual(
    ['created', 'description', 'documentation', 'licenses', 'revision', 'source', 'title', 'url', 'version'].map((k) => `org.opencontainers.image.${k}`),
  );
  const config = JSON.parse(sh('skopeo', ['inspect', '--config', `oci-archive:${archive}:${variant}-${VERSION}`]));
  expect(config.config.Cmd).toEqual(['/usr/bin/bash']);
  expect(config.config.Env).toContain('LANG=C.UTF-8');
  const loaded = sh('podman', ['load', '-i', archive]);
  expect(loaded).toContain(`${name}:${variant}`);
  expect(loaded).toContain(`${name}:${variant}-${VERSION}`);
  sh('podman', ['rmi', '-f', `${name}:${variant}`]);
}

describe('debian container', () => {
  let first: ReturnType<typeof boxes>;
  let second: ReturnType<typeof boxes>;
  beforeAll(() => {
    first = boxes(['--profile', 'container', '--distribution', 'debian', '--output-dir', join(work, 'debian-a')]);
    second = boxes(['--profile', 'container', '--distribution', 'debian', '--output-dir', join(work, 'debian-b/elsewhere')]);
  });

  it('is byte-for-byte reproducible across output directories', () => {
    expect(first.artifacts[0]!.path).toMatch(/\/Debian-13-x86_64-container-base-20251123\.0\.tar$/);
    expect(second.artifacts[0]!.sha256).toBe(first.artifacts[0]!.sha256);
    expect(second.artifacts[0]!.digest).toBe(first.artifacts[0]!.digest);
    const sums = readFileSync(join(work, 'debian-a/SHA256SUMS'), 'utf8');
    expect(sums).toBe(`${first.artifacts[0]!.sha256}  Debian-13-x86_64-container-base-20251123.0.tar\n`);
  });

  it('loads in podman and skopeo with both ref names', () => checkOci(first.artifacts[0]!.path, 'debian', 'base'));

  it('unpacks with umoci, runs a command, and follows the content rules', () => checkContent(unpack(first.artifacts[0]!.path, 'base'), 'debian'));
});

describe('arch container from a local repository', () => {
  let repo: string;
  let rootBuild: ReturnType<typeof boxes>;
  beforeAll(() => {
    const tools = readdirSync(join(cache, 'tools')).find((n) => n.startsWith('debian-trixie-'));
    expect(tools, 'the Debian build provides the tools tree').toBeDefined();
    repo = join(work, 'arch-repo');
    sh('bash', [join(root, 'test/support/make-arch-repo.sh'), repo, join(cache, 'tools', tools!)]);
    rootBuild = boxes(['--profile', 'container', '--distribution', 'arch', '--mirror', `file://${repo}`, '--no-repository-key-check', '--output-dir', join(work, 'arch-a')]);
  });

  it('loads, unpacks and follows the content rules', () => {
    const archive = rootBuild.artifacts[0]!.path;
    expect(archive).toMatch(/\/Arch-Linux-x86_64-container-base-20251123\.0\.tar$/);
    checkOci(archive, 'archlinux', 'base');
    checkContent(unpack(archive, 'base'), 'arch');
  });

  it('builds the base-devel variant with its meta package', () => {
    const r = boxes(['--profile', 'container', '--variant', 'base-devel', '--distribution', 'arch', '--mirror', `file://${repo}`, '--no-repository-key-check', '--output-dir', join(work, 'arch-devel')]);
    const rootfs = unpack(r.artifacts[0]!.path, 'base-devel');
    expect(existsSync(join(rootfs, 'var/lib/pacman/local/base-devel-1.0-1'))).toBe(true);
  });

  it('is reproducible when built rootless by an unprivileged user', () => {
    if (process.getuid?.() !== 0) return; // already unprivileged: the root build above was rootless
    if (spawnSync('id', [ROOTLESS_USER]).status !== 0) sh('useradd', ['--create-home', ROOTLESS_USER]);
    const userDir = join(work, 'rootless');
    mkdirSync(userDir);
    sh('chown', [ROOTLESS_USER, userDir]);
    const r = boxes(
      ['--profile', 'container', '--distribution', 'arch', '--mirror', `file://${repo}`, '--no-repository-key-check', '--output-dir', join(userDir, 'out'), '--tools-tree', rootBuild.toolsTree],
      { user: ROOTLESS_USER, cacheDir: join(userDir, 'cache') },
    );
    expect(r.artifacts[0]!.sha256).toBe(rootBuild.artifacts[0]!.sha256);
    rmSync(userDir, { recursive: true, force: true });
  });
});
