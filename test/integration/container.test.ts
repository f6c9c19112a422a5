// Real mkosi builds of the container image, Debian from Debian's archive and Arch from a fixture
// repository, proven with podman, skopeo, umoci and chroot. Builds are shared across the checks.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, openSync, writeSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDpkgStatus } from '../../src/record/packages.js';
import { buildRecordSchema } from '../../src/record/schema.js';
import { policyRequiring, signingSetup, startRegistry, type Registry } from '../support/registry.js';
import { fingerprintOf, keyStates, populateReference, stopAgent, trusted, trustSummary } from '../support/pacman-keyring.js';
import {
  build as boxes,
  boxesRaw,
  buildAsync,
  buildRootless,
  buildRootlessAsync,
  cache,
  EPOCH,
  projectCopy,
  root,
  rootlessUser,
  sh,
  sharedToolsTree,
  VERSION,
  workDir,
} from '../support/cli.js';

const work = workDir();
/** The tools tree the Debian build used; the Arch fixture repository is made with its pacman tools. */
let toolsTree: string;

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
    // A populated keyring, and no private key in it.
    expect(readdirSync(join(rootfs, 'etc/pacman.d/gnupg')).sort()).toEqual(['gpg-agent.conf', 'gpg.conf', 'pubring.gpg', 'trustdb.gpg']);
    expect(readFileSync(join(rootfs, 'usr/share/libalpm/hooks/package-cleanup.hook'), 'utf8')).toContain('Exec = /usr/bin/sh -c "rm -rf /var/cache/pacman/pkg/*"');
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
    const sources = readdirSync(join(rootfs, 'etc/apt/sources.list.d'))
      .map((n) => readFileSync(join(rootfs, 'etc/apt/sources.list.d', n), 'utf8'))
      .join('');
    expect(sources).not.toMatch(/debian-debug|deb-src/);
    expect(readFileSync(join(rootfs, 'etc/apt/apt.conf.d/docker-clean'), 'utf8')).toMatch(/^DPkg::Post-Invoke .*\/var\/cache\/apt\/archives\/\*\.deb/m);
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
  // The second build is rootless (an unprivileged user with subordinate ids) and elsewhere; it
  // runs beside the first, each with its own cache.
  beforeAll(async () => {
    [first, second] = await Promise.all([
      buildAsync(['--profile', 'container', '--distribution', 'debian', '--output-dir', join(work, 'debian-a')]),
      buildRootlessAsync(['--profile', 'container', '--distribution', 'debian'], join(work, 'debian-b/elsewhere'), sharedToolsTree()),
    ]);
    toolsTree = first.toolsTree;
  });

  it('is byte-for-byte reproducible across output directories, and rootless gives the root build', () => {
    expect(first.artifacts[0]!.path).toMatch(/\/Debian-13-x86_64-container-base-20251123\.0\.tar$/);
    expect(second.toolsTree).toBe(first.toolsTree);
    expect(second.artifacts[0]!.sha256).toBe(first.artifacts[0]!.sha256);
    expect(second.artifacts[0]!.digest).toBe(first.artifacts[0]!.digest);
    const sums = readFileSync(join(work, 'debian-a/SHA256SUMS'), 'utf8');
    expect(sums).toMatch(new RegExp(`^${first.artifacts[0]!.sha256}  Debian-13-x86_64-container-base-20251123\\.0\\.tar$`, 'm'));
    expect(sums).toMatch(/^[0-9a-f]{64} {2}Debian-13-x86_64-container-base-20251123\.0\.tar\.manifest\.json$/m);
    expect(sums).toMatch(/^[0-9a-f]{64} {2}Debian-13-x86_64-container-base-20251123\.0\.tar\.spdx\.json$/m);
    // Records and SBOMs hold no paths or clocks: two builds give the same bytes.
    for (const side of ['manifest.json', 'spdx.json'])
      expect(readFileSync(`${second.artifacts[0]!.path}.${side}`, 'utf8')).toBe(readFileSync(`${first.artifacts[0]!.path}.${side}`, 'utf8'));
  });

  it("carries a build record and an SBOM whose packages are the image's", () => {
    const archive = first.artifacts[0]!.path;
    const record = buildRecordSchema.parse(JSON.parse(readFileSync(`${archive}.manifest.json`, 'utf8')));
    expect(record.artifact).toMatchObject({ sha256: first.artifacts[0]!.sha256, digest: first.artifacts[0]!.digest });
    expect(record.artifact.diffIds).toHaveLength(1);
    expect(record.mkosi.version).toMatch(/^25\./);
    expect(record.toolsTree.packages).toEqual(expect.arrayContaining([expect.stringMatching(/^qemu-utils /), expect.stringMatching(/^tar /)]));
    const rootfs = unpack(archive, 'base');
    const installed = parseDpkgStatus(readFileSync(join(rootfs, 'var/lib/dpkg/status'), 'utf8'));
    expect(record.packages.map((p) => `${p.name} ${p.version}`).sort()).toEqual(installed);
    const sbom = JSON.parse(readFileSync(`${archive}.spdx.json`, 'utf8'));
    expect(sbom.spdxVersion).toBe('SPDX-2.3');
    expect(sbom.packages).toHaveLength(record.packages.length + 1);
  });

  it('loads in podman and skopeo with both ref names', () => checkOci(first.artifacts[0]!.path, 'debian', 'base'));

  it('unpacks with umoci, runs a command, and follows the content rules', () => checkContent(unpack(first.artifacts[0]!.path, 'base'), 'debian'));

  it('keeps no downloaded package after apt-get install inside it', () => {
    const rootfs = unpack(first.artifacts[0]!.path, 'base');
    rmSync(join(rootfs, 'etc/resolv.conf'), { force: true });
    writeFileSync(join(rootfs, 'etc/resolv.conf'), readFileSync('/etc/resolv.conf'));
    // A private mount namespace: /dev and /proc for apt inside the tree, gone when it exits.
    const script = `mount --rbind /dev "$1/dev" && mount -t proc proc "$1/proc" && chroot "$1" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends hello >/dev/null'`;
    const r = spawnSync('unshare', ['--mount', '--fork', 'sh', '-c', script, 'sh', rootfs], { encoding: 'utf8', timeout: 10 * 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(rootfs, 'usr/bin/hello'))).toBe(true);
    const cache = join(rootfs, 'var/cache/apt');
    expect(sh('find', [cache, '-name', '*.deb', '-o', '-name', '*.bin']).trim()).toBe('');
  });
});

describe('arch container from a local repository', () => {
  let repo: string;
  let rootBuild: ReturnType<typeof boxes>;
  let keys: string;
  /** The fixture's trust anchor: scripts/keyring-anchor.sh run on the fixture keyring, as a refresh would. */
  let anchor: string;
  const fpr = (name: string) => readFileSync(join(keys, `${name}.fpr`), 'utf8').trim();
  const fixture = () => ['--profile', 'container', '--distribution', 'arch', '--mirror', `file://${repo}`, '--no-repository-key-check', '--keyring-anchor', anchor];
  beforeAll(() => {
    expect(toolsTree, 'the Debian build provides the tools tree').toBeDefined();
    repo = join(work, 'arch-repo');
    keys = join(work, 'arch-keys');
    anchor = join(work, 'arch-anchor');
    sh('bash', [join(root, 'test/support/make-arch-keys.sh'), keys]);
    sh('bash', [join(root, 'test/support/make-arch-repo.sh'), repo, toolsTree, keys]);
    // The anchor also certifies master5, which this keyring does not trust: that certification must not count.
    const input = mkdtempSync(join(work, 'anchor-input-'));
    cpSync(join(keys, 'archlinux.gpg'), join(input, 'archlinux.gpg'));
    writeFileSync(join(input, 'archlinux-trusted'), `${readFileSync(join(keys, 'archlinux-trusted'), 'utf8')}${fpr('master5')}:4:\n`);
    sh('bash', [join(root, 'scripts/keyring-anchor.sh'), '-o', anchor, input]);
    rootBuild = boxes([...fixture(), '--output-dir', join(work, 'arch-a')]);
  });

  it('loads, unpacks and follows the content rules', () => {
    const archive = rootBuild.artifacts[0]!.path;
    expect(archive).toMatch(/\/Arch-Linux-x86_64-container-base-20251123\.0\.tar$/);
    checkOci(archive, 'archlinux', 'base');
    const rootfs = unpack(archive, 'base');
    checkContent(rootfs, 'arch');
    const record = buildRecordSchema.parse(JSON.parse(readFileSync(`${archive}.manifest.json`, 'utf8')));
    const local = readdirSync(join(rootfs, 'var/lib/pacman/local')).filter((n) => n !== 'ALPM_DB_VERSION');
    expect(record.packages.map((p) => `${p.name}-${p.version}`).sort()).toEqual(local.sort());
    expect(record.reproduce).toEqual(expect.arrayContaining(['--mirror', `file://${repo}`, '--no-repository-key-check', '--keyring-anchor', anchor]));
  });

  it('trusts exactly the keys pacman-key --init && --populate trusts from the same keyring files, with no private key', () => {
    const rootfs = unpack(rootBuild.artifacts[0]!.path, 'base');
    const home = join(rootfs, 'etc/pacman.d/gnupg');
    const ours = keyStates(home, EPOCH, work);
    const reference = keyStates(populateReference(keys, EPOCH, mkdtempSync(join(work, 'populate-'))), EPOCH, work);
    // Arch's rule: a packager key is valid when three trusted master keys certified it.
    expect(trusted(ours)).toEqual([fingerprintOf(join(anchor, 'anchor.asc')), ...['master1', 'master2', 'master3', 'packager', 'doomed'].map(fpr)].sort());
    expect(trustSummary(ours)).toEqual(trustSummary(reference));
    expect(ours.get(fpr('master4'))?.disabled, 'the revoked master key is disabled').toBe(true);
    expect(readdirSync(join(anchor, 'certifications'))).toContain(`${fpr('master5')}.asc`);
    expect(ours.get(fpr('master5'))?.validity, 'a master key the package does not trust').not.toMatch(/^[fu]$/);
    for (const name of ['one', 'two', 'm4', 'm5']) expect(ours.get(fpr(name))?.validity, name).not.toMatch(/^[fu]$/);
    // No private key: GnuPG keeps them in private-keys-v1.d (and secring.gpg for old versions).
    expect(readdirSync(home).filter((n) => /private-keys|secring/.test(n))).toEqual([]);
  });

  it('refuses to build, in one line naming the refresh command, when the trust anchor has not certified a trusted master key', () => {
    // The tree's anchor certifies Arch's master keys, not the fixture's.
    const out = join(work, 'arch-unanchored');
    const r = boxesRaw(['build', '--source-date-epoch', EPOCH, ...fixture().slice(0, -2), '--output-dir', out]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `keyring\\.finalize: the keyring trust anchor \\(mkosi\\.profiles/container/keyring-anchor\\) has not certified the master key\\(s\\) (${['master1', 'master2', 'master3'].map(fpr).join('|')})`,
      ),
    );
    expect(r.stderr).toContain('refresh it: scripts/keyring-anchor.sh KEYRINGS_DIR');
    expect(readdirSync(out).filter((n) => n.endsWith('.tar'))).toEqual([]);
  });

  it('reproduces from its build record to identical bytes', () => {
    const archive = rootBuild.artifacts[0]!.path;
    const r = boxesRaw(['reproduce', `${archive}.manifest.json`, '--output-dir', join(work, 'arch-reproduced'), '--tools-tree', rootBuild.toolsTree, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ identical: true, sha256: rootBuild.artifacts[0]!.sha256, digest: rootBuild.artifacts[0]!.digest });
    const name = archive.split('/').at(-1)!;
    expect(readFileSync(join(work, 'arch-reproduced', `${name}.manifest.json`), 'utf8')).toBe(readFileSync(`${archive}.manifest.json`, 'utf8'));
    // The verification statement lands next to the record: what boxes publish asks for.
    const statement = JSON.parse(readFileSync(`${archive}.reproduced.json`, 'utf8'));
    expect(statement).toMatchObject({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name, digest: { sha256: rootBuild.artifacts[0]!.sha256 } }],
      predicate: { method: 'reproduce', rebuilt: { sha256: rootBuild.artifacts[0]!.sha256, digest: rootBuild.artifacts[0]!.digest } },
    });
  });

  it("with Arch's real keyring (Debian's copy of archlinux-keyring) and the tree's own anchor, trusts what pacman-key --populate trusts, key for key", () => {
    // Only Arch's files: `pacman-key --populate` reads every keyring in its directory, and the tools
    // tree's holds Debian's and Ubuntu's archive keys too.
    const keyrings = mkdtempSync(join(work, 'arch-keyring-real-'));
    for (const name of ['archlinux.gpg', 'archlinux-trusted', 'archlinux-revoked'])
      cpSync(join(toolsTree, 'usr/share/keyrings', name), join(keyrings, name), { preserveTimestamps: true });
    const realRepo = join(work, 'arch-repo-real');
    sh('bash', ['-c', 'KEYRING_DATA="$1" bash "$0" "$2" "$3"', join(root, 'test/support/make-arch-repo.sh'), keyrings, realRepo, toolsTree]);
    // The day after the package's release (its files' time): every key it holds exists by then.
    const epoch = String((Math.floor(statSync(join(keyrings, 'archlinux.gpg')).mtimeMs / 86_400_000) + 1) * 86_400);
    const r = boxes([
      '--profile',
      'container',
      '--distribution',
      'arch',
      '--mirror',
      `file://${realRepo}`,
      '--no-repository-key-check',
      '--source-date-epoch',
      epoch,
      '--output-dir',
      join(work, 'arch-real'),
    ]);
    const rootfs = unpack(r.artifacts[0]!.path, 'base');
    const ours = keyStates(join(rootfs, 'etc/pacman.d/gnupg'), epoch, work);
    const reference = keyStates(populateReference(keyrings, epoch, mkdtempSync(join(work, 'populate-real-'))), epoch, work);
    expect(trusted(ours).length).toBeGreaterThan(50);
    expect(trustSummary(ours)).toEqual(trustSummary(reference));
  });

  const arch = () => [...fixture(), '--source-date-epoch', EPOCH, '--tools-tree', rootBuild.toolsTree];

  it('verify builds twice from two tree paths and finds the archives identical', () => {
    const r = boxesRaw(['verify', ...arch(), '--output-dir', join(work, 'verify-clean')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^identical Arch-Linux-x86_64-container-base-20251123\.0\.tar \(sha256 [0-9a-f]{64}\), statement \S+\.reproduced\.json$/m);
    const name = 'Arch-Linux-x86_64-container-base-20251123.0.tar';
    const statement = JSON.parse(readFileSync(join(work, 'verify-clean/first', `${name}.reproduced.json`), 'utf8'));
    expect(statement.subject).toEqual([{ name, digest: { sha256: sh('sha256sum', [join(work, 'verify-clean/first', name)]).split(' ')[0] } }]);
    expect(statement.predicate.method).toBe('verify');
    // Every variation this machine allows was applied to the second build, and is named.
    expect(statement.predicate.variations.map((v: string) => v.split(':')[0])).toEqual(['path', 'filesystem', 'umask', 'timezone', 'locale', 'hostname', 'cpus']);
    expect(r.stdout).toMatch(/^skipped {3}time: /m);
  });

  it('verify exits 1 and points at the file a test-only drop-in stamps with the build time', async () => {
    // A copy of the project with one more drop-in: every build writes the clock into the image.
    const project = await projectCopy(mkdtempSync(join(work, 'clock-')));
    writeFileSync(join(project, 'mkosi.conf.d/99-clock.conf'), '[Content]\nFinalizeScripts=%D/mkosi.conf.d/clock.finalize\n');
    writeFileSync(join(project, 'mkosi.conf.d/clock.finalize'), '#!/bin/sh\ndate +%s%N >"$BUILDROOT/etc/build-time"\n', { mode: 0o755 });
    const r = spawnSync('node', [join(project, 'dist/cli.js'), 'verify', ...arch(), '--output-dir', join(work, 'verify-clock')], {
      env: { ...process.env, BOXES_CACHE_DIR: cache },
      encoding: 'utf8',
      timeout: 20 * 60_000,
    });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^DIFFERS +Arch-Linux-x86_64-container-base-20251123\.0\.tar: sha256 [0-9a-f]{64} vs [0-9a-f]{64}$/m);
    expect(r.stdout).toContain('layer 1: /etc/build-time: content differs');
    expect(r.stderr).toMatch(/1 of 1 artifacts differ between two builds \(varied: [a-z, ]+\): .*\(layer 1: \/etc\/build-time: content differs\)/);
    expect(readdirSync(join(work, 'verify-clock/first')).filter((n) => n.endsWith('.reproduced.json'))).toEqual([]);
  });

  describe('boxes publish to a local registry', () => {
    let registry: Registry;
    let dir: string;
    const verified = () => join(work, 'verify-clean/first');
    const name = 'Arch-Linux-x86_64-container-base-20251123.0.tar';
    beforeAll(async () => {
      dir = join(work, 'registry');
      registry = await startRegistry(dir);
    });
    afterAll(async () => {
      for (const home of ['gnupg', 'stranger/gnupg']) spawnSync('gpgconf', ['--homedir', join(dir, home), '--kill', 'all']);
      await registry?.stop();
    });
    const push = (outputDir: string, extra: string[] = [], env: Record<string, string> = {}) =>
      boxesRaw(['publish', '--output-dir', outputDir, '--registry', `docker://${registry.host}/archlinux`, '--no-tls-verify', ...extra], { env });
    const copyOf = (label: string) => {
      const to = join(work, label);
      cpSync(verified(), to, { recursive: true });
      return to;
    };

    it('refuses, before pushing anything, an archive no second build vouches for, a statement about other bytes, and a tampered archive', () => {
      const unproven = push(join(work, 'debian-a'));
      expect(unproven.status).toBe(3);
      expect(unproven.stderr).toMatch(/Debian-13-x86_64-container-base-20251123\.0\.tar has no verification statement/);
      const other = copyOf('publish-other');
      const statement = join(other, `${name}.reproduced.json`);
      writeFileSync(statement, readFileSync(statement, 'utf8').replace(/"sha256": "[0-9a-f]{64}"/g, `"sha256": "${'f'.repeat(64)}"`));
      const wrong = push(other);
      expect(wrong.status).toBe(3);
      expect(wrong.stderr).toMatch(/vouches for sha256 f{64}/);
      const tampered = copyOf('publish-tampered');
      const fd = openSync(join(tampered, name), 'r+');
      writeSync(fd, Buffer.from('tampered'), 0, 8, 4096);
      closeSync(fd);
      const bad = push(tampered);
      expect(bad.status).toBe(3);
      expect(bad.stderr).toMatch(/changed after the build/);
      const tags = spawnSync('skopeo', ['list-tags', '--tls-verify=false', `docker://${registry.host}/archlinux`], { encoding: 'utf8' });
      expect(tags.status === 0 ? JSON.parse(tags.stdout).Tags : tags.stderr).not.toEqual(expect.arrayContaining([expect.stringMatching(/^base/)]));
      expect(tags.status === 0 || /name unknown|NAME_UNKNOWN|not found/i.test(tags.stderr), tags.stderr).toBe(true);
    });

    it('pushes the verified archive under both tags, signed; skopeo pulls each by tag with the recorded digest under a policy that requires the signature', () => {
      const signing = signingSetup(dir, registry.host);
      const r = push(verified(), ['--sign-by', signing.fingerprint, '--registries-d', signing.registriesD, '--json'], { GNUPGHOME: signing.gnupgHome });
      expect(r.status, r.stderr).toBe(0);
      const digest = buildRecordSchema.parse(JSON.parse(readFileSync(join(verified(), `${name}.manifest.json`), 'utf8'))).artifact.digest!;
      const report = JSON.parse(r.stdout) as { pushed: { reference: string; digest: string }[] };
      expect(report.pushed).toEqual(['base', `base-${VERSION}`].map((tag) => ({ artifact: name, reference: `docker://${registry.host}/archlinux:${tag}`, digest })));
      const policy = policyRequiring(dir, registry.host, signing.publicKey);
      const stranger = signingSetup(join(dir, 'stranger'), registry.host, 'someone else');
      const strangersPolicy = policyRequiring(dir, registry.host, stranger.publicKey);
      for (const tag of ['base', `base-${VERSION}`]) {
        const pulled = join(dir, `pulled-${tag}`);
        const pull = (p: string) =>
          spawnSync(
            'skopeo',
            ['--registries.d', signing.registriesD, '--policy', p, 'copy', '--src-tls-verify=false', `docker://${registry.host}/archlinux:${tag}`, `dir:${pulled}`],
            { encoding: 'utf8' },
          );
        const ok = pull(policy);
        expect(ok.status, ok.stderr).toBe(0);
        expect(sh('skopeo', ['manifest-digest', join(pulled, 'manifest.json')]).trim()).toBe(digest);
        const refused = pull(strangersPolicy);
        expect(refused.status).not.toBe(0);
        expect(refused.stderr).toMatch(/rejected|signature/i);
      }
    });
  });

  it('builds the base-devel variant with its meta package', () => {
    const r = boxes([...fixture(), '--variant', 'base-devel', '--output-dir', join(work, 'arch-devel')]);
    const rootfs = unpack(r.artifacts[0]!.path, 'base-devel');
    expect(readdirSync(join(rootfs, 'var/lib/pacman/local')).filter((n) => n.startsWith('base-devel-1.0.'))).toHaveLength(1);
  });

  it('builds multilib-devel with [multilib] enabled in its pacman.conf, and nothing else changed there', () => {
    const r = boxes([...fixture(), '--variant', 'multilib-devel', '--output-dir', join(work, 'arch-multilib')]);
    const multilib = readFileSync(join(unpack(r.artifacts[0]!.path, 'multilib-devel'), 'etc/pacman.conf'), 'utf8');
    const base = readFileSync(join(unpack(rootBuild.artifacts[0]!.path, 'base'), 'etc/pacman.conf'), 'utf8');
    expect(multilib).toMatch(/^\[multilib\]\nInclude = \/etc\/pacman\.d\/mirrorlist$/m);
    expect(multilib).toBe(base.replace('#[multilib]\n#Include', '[multilib]\nInclude'));
  });

  /** Debian's pacman on an unpacked image, with the image's keyring, hooks and [options]; only the mirror list is the fixture's. */
  function pacmanOn(rootfs: string, repository: string) {
    const image = readFileSync(join(rootfs, 'etc/pacman.conf'), 'utf8');
    const conf = join(mkdtempSync(join(work, 'pacman-conf-')), 'pacman.conf');
    writeFileSync(conf, `${image.slice(0, image.search(/^\[(?!options\])/m))}\n[core]\nServer = file://${repository}\n`);
    expect(readFileSync(conf, 'utf8')).toMatch(/^SigLevel = Required/m);
    const pacman = (...args: string[]) =>
      spawnSync(
        'pacman',
        [
          '--root',
          rootfs,
          '--dbpath',
          join(rootfs, 'var/lib/pacman'),
          '--cachedir',
          join(rootfs, 'var/cache/pacman/pkg'),
          '--gpgdir',
          join(rootfs, 'etc/pacman.d/gnupg'),
          '--hookdir',
          join(rootfs, 'usr/share/libalpm/hooks'),
          '--logfile',
          join(rootfs, 'var/log/pacman.log'),
          '--config',
          conf,
          '--noconfirm',
          '--noprogressbar',
          ...args,
        ],
        { encoding: 'utf8', timeout: 300_000 },
      );
    const pacmanKey = (...args: string[]) =>
      spawnSync('pacman-key', ['--config', conf, '--gpgdir', join(rootfs, 'etc/pacman.d/gnupg'), ...args], { encoding: 'utf8', timeout: 120_000 });
    return { pacman, pacmanKey };
  }

  describe("pacman out of the box (Debian's pacman on the unpacked image, the image's own keyring and options)", () => {
    let rootfs: string;
    let pacman: ReturnType<typeof pacmanOn>['pacman'];
    let pacmanKey: ReturnType<typeof pacmanOn>['pacmanKey'];
    beforeAll(() => {
      rootfs = unpack(rootBuild.artifacts[0]!.path, 'base');
      ({ pacman, pacmanKey } = pacmanOn(rootfs, repo));
    });

    it('installs a package signed by a packager three master keys certified, then empties the package cache', () => {
      const r = pacman('-Sy', 'hello');
      expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
      expect(readFileSync(join(rootfs, 'usr/share/boxes-fixture/hello'), 'utf8')).toBe('hello, signed by packager\n');
      expect(readdirSync(join(rootfs, 'var/cache/pacman/pkg'))).toEqual([]);
    });

    it.each([
      ['hello-one', 'one master key'],
      ['hello-two', 'two master keys'],
      ['hello-m4', 'two trusted master keys and a revoked one'],
      ['hello-m5', 'two trusted master keys and an untrusted one'],
      ['rogue', 'a key outside the keyring'],
    ])('refuses %s, signed by a packager certified by %s', (name) => {
      const r = pacman('-S', name);
      expect(r.status).not.toBe(0);
      expect(`${r.stdout}${r.stderr}`).toMatch(/required key missing from keyring|signature .* is (unknown|marginal) trust|invalid or corrupted/i);
      expect(existsSync(join(rootfs, 'usr/share/boxes-fixture', name))).toBe(false);
    });

    it('has nothing to sign with: pacman-key --lsign-key fails', () => {
      const r = pacmanKey('--lsign-key', fpr('packager'));
      expect(r.status).not.toBe(0);
      expect(`${r.stdout}${r.stderr}`).toMatch(/secret key|could not be locally signed/i);
    });

    // pacman-key starts a gpg-agent for the keyring; stop it with the tests.
    afterAll(() => void spawnSync('gpgconf', ['--homedir', join(rootfs, 'etc/pacman.d/gnupg'), '--kill', 'all']));

    it('still works after the user runs pacman-key --init', () => {
      const init = pacmanKey('--init');
      expect(init.status, init.stderr).toBe(0);
      const r = pacman('-S', 'hello');
      expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
      expect(pacman('-S', 'rogue').status).not.toBe(0);
    });
  });

  describe('a keyring update inside the container (pacman -Syu to archlinux-keyring release 2: packager newbie added, doomed revoked)', () => {
    let rootfs: string;
    let pacman: ReturnType<typeof pacmanOn>['pacman'];
    let update: ReturnType<typeof spawnSync>;
    const home = () => join(rootfs, 'etc/pacman.d/gnupg');
    beforeAll(() => {
      const repo2 = join(work, 'arch-repo-2');
      sh('bash', ['-c', `KEYRING_RELEASE=2 bash "$0" "$@"`, join(root, 'test/support/make-arch-repo.sh'), repo2, toolsTree, keys]);
      rootfs = unpack(rootBuild.artifacts[0]!.path, 'base');
      const before = pacmanOn(rootfs, repo);
      // doomed's packager is valid before the update: its package installs.
      const doomed = before.pacman('-Sy', 'doomed');
      expect(doomed.status, `${doomed.stdout}${doomed.stderr}`).toBe(0);
      ({ pacman } = pacmanOn(rootfs, repo2));
      update = pacman('-Syu');
    });
    // The update runs gpg-agent in the image's keyring (the hook and the install script).
    afterAll(() => stopAgent(home()));

    it("upgrades the keyring package; the hook gave the keyring its own key first, so the install script's populate ran without an error", () => {
      const out = `${String(update.stdout)}${String(update.stderr)}`;
      expect(update.status, out).toBe(0);
      expect(out).toMatch(/upgrading archlinux-keyring/);
      expect(out).toMatch(/Giving the pacman keyring this container's own key/);
      expect(out).not.toMatch(/error|There is no secret key|could not be locally signed/i);
      expect(readdirSync(join(rootfs, 'var/lib/pacman/local')).filter((n) => n.startsWith('archlinux-keyring-2.0.'))).toHaveLength(1);
      // The key was made in the container, now: none shipped in the image.
      expect(readdirSync(join(home(), 'private-keys-v1.d')).filter((n) => n.endsWith('.key'))).toHaveLength(1);
    });

    it("installs the new packager's package, and again one whose packager was trusted before", () => {
      for (const name of ['newbie', 'hello']) {
        const r = pacman('-S', name);
        expect(r.status, `${name}: ${r.stdout}${r.stderr}`).toBe(0);
      }
      expect(readFileSync(join(rootfs, 'usr/share/boxes-fixture/newbie'), 'utf8')).toBe('newbie, signed by newbie\n');
    });

    it("refuses the revoked packager's package, and still those of packagers under three certifications", () => {
      for (const name of ['doomed', 'hello-one', 'hello-two']) {
        const r = pacman('-S', name);
        expect(r.status, `${name}: ${r.stdout}${r.stderr}`).not.toBe(0);
      }
      const states = keyStates(home(), String(Math.floor(Date.now() / 1000)), work);
      expect(states.get(fpr('doomed'))?.disabled).toBe(true);
      expect(states.get(fpr('newbie'))?.validity).toBe('f');
    });
  });

  it('is the same archive, with the same record, when built rootless by an unprivileged user', () => {
    const userDir = join(work, 'rootless');
    const r = buildRootless(fixture(), userDir, rootBuild.toolsTree);
    expect(r.artifacts[0]!.sha256).toBe(rootBuild.artifacts[0]!.sha256);
    expect(readFileSync(`${r.artifacts[0]!.path}.manifest.json`, 'utf8')).toBe(readFileSync(`${rootBuild.artifacts[0]!.path}.manifest.json`, 'utf8'));
    rmSync(userDir, { recursive: true, force: true });
  });

  // The cached package set keeps the image's owners (subordinate ids), which the user's `rm` cannot remove.
  it('boxes clean, run by the unprivileged user, removes the cached package sets through the build mapping', () => {
    const user = rootlessUser();
    if (!user) return;
    const userCache = join(cache, `user-${user}`);
    const caches = join(userCache, 'mkosi-cache');
    expect(readdirSync(caches).filter((n) => /^[0-9a-f]{16}$/.test(n)).length, 'the rootless build cached its package set').toBeGreaterThan(0);
    const r = boxesRaw(['clean'], { user, cacheDir: userCache });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`removed ${caches}\n`);
    expect(existsSync(caches)).toBe(false);
    expect(existsSync(join(userCache, 'packages')), 'downloads stay without --all').toBe(true);
  });
});

describe('Ctrl-C during a rootless build', () => {
  it('stops mkosi in its namespace: exit 130, no process, mount, staging or workspace left', async () => {
    const user = rootlessUser();
    if (!user) return; // the suite already runs unprivileged; the unit suite covers Ctrl-C there
    expect(toolsTree, 'the Debian build provides the tools tree').toBeDefined();
    const dir = join(work, 'rootless-interrupt');
    mkdirSync(dir);
    sh('chown', [`${user}:${user}`, dir]);
    const out = join(dir, 'out');
    const child = spawn(
      'runuser',
      [
        '-u',
        user,
        '--',
        'env',
        `BOXES_CACHE_DIR=${join(dir, 'cache')}`,
        'TMPDIR=/tmp',
        'node',
        join(root, 'dist/cli.js'),
        'build',
        '--profile',
        'container',
        '--distribution',
        'debian',
        '--output-dir',
        out,
        '--tools-tree',
        toolsTree,
        '--verbose',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    // mkosi is inside its namespace, with its mounts, once it installs packages.
    const log = join(out, 'logs/container-base.log');
    for (let i = 0; i < 600 && !(existsSync(log) && /Installing|Running/.test(readFileSync(log, 'utf8'))); i++) await new Promise((r) => setTimeout(r, 100));
    expect(readFileSync(log, 'utf8'), stderr).toMatch(/Installing|Running/);
    const node = sh('pgrep', ['-u', user, '-f', 'dist/cli.js build']).trim().split('\n')[0]!;
    process.kill(Number(node), 'SIGINT');
    expect(await exited, stderr).toBe(130);
    const [, start] = new RegExp(`^${user}:(\\d+):`, 'm').exec(readFileSync('/etc/subuid', 'utf8'))!;
    const uid = Number(sh('id', ['-u', user]));
    // Processes of the user or its subordinate ids; an exited one (zombie) waits only for its reaper.
    const ours = () =>
      sh('ps', ['-eo', 'uid=,stat=,args='])
        .split('\n')
        .filter((l) => {
          const [id, stat] = l.trim().split(/\s+/);
          return l.trim() !== '' && !stat!.startsWith('Z') && (Number(id) === uid || (Number(id) >= Number(start) && Number(id) < Number(start) + 65536));
        });
    expect(ours()).toEqual([]);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(dir);
    expect(readdirSync(out).filter((n) => n.startsWith('.'))).toEqual([]);
    expect(readdirSync(join(dir, 'cache/workspace'))).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });
});
