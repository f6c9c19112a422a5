// The built CLI driven end to end with a fake mkosi (BOXES_MKOSI): exit codes, the recorded mkosi
// command line, atomic outputs, the output lock and Ctrl-C handling.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildRecordSchema } from '../../src/record/schema.js';
import { interruptOnceMkosiRuns, isAlive } from '../support/interrupt.js';

const root = resolve(import.meta.dirname, '../..');
const cli = join(root, 'dist/cli.js');
const fake = join(root, 'test/support/fake-mkosi.mjs');

function env(dir: string, extra: Record<string, string> = {}) {
  return { ...process.env, CI: 'true', BOXES_MKOSI: fake, BOXES_CACHE_DIR: join(dir, 'cache'), FAKE_MKOSI_RECORD: join(dir, 'argv.jsonl'), FAKE_MKOSI_PIDDIR: dir, ...extra };
}
function boxes(dir: string, args: string[], extra: Record<string, string> = {}) {
  return spawnSync('node', [cli, ...args], { env: env(dir, extra), encoding: 'utf8', timeout: 60_000 });
}
const tools = (dir: string) => {
  mkdirSync(join(dir, 'tools/usr/bin'), { recursive: true });
  return ['--tools-tree', join(dir, 'tools')];
};

describe('boxes build with a fake mkosi', () => {
  it.each([
    ['debian', 'base', 'Debian-13-x86_64-container-base-20251123.0.tar'],
    ['debian', 'multilib-devel', 'Debian-13-x86_64-container-multilib-devel-20251123.0.tar'],
    ['arch', 'base-devel', 'Arch-Linux-x86_64-container-base-devel-20251123.0.tar'],
  ])('%s %s: records the mkosi command line and moves the artifact into place', (distribution, variant, name) => {
    const dir = mkdtempSync(join(tmpdir(), 'boxes-cli-'));
    const out = join(dir, 'out');
    const extra = distribution === 'arch' ? ['--mirror', 'file:///srv/repo', '--no-repository-key-check'] : [];
    const r = boxes(
      dir,
      [
        'build',
        '--profile',
        'container',
        '--distribution',
        distribution,
        '--variant',
        variant,
        '--source-date-epoch',
        '1763856000',
        '--output-dir',
        out,
        '--json',
        ...tools(dir),
        ...extra,
      ],
      { FAKE_MKOSI_ARTIFACT: name },
    );
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.artifacts[0].path).toBe(join(out, name));
    expect(report.artifacts[0].digest).toBe('sha256:feed');
    expect(readdirSync(out).sort()).toEqual(['SHA256SUMS', name, `${name}.SHA256`, `${name}.manifest.json`, `${name}.spdx.json`, 'logs'].sort());
    const sums = readFileSync(join(out, 'SHA256SUMS'), 'utf8');
    for (const n of [name, `${name}.manifest.json`, `${name}.spdx.json`]) expect(sums).toContain(`  ${n}\n`);
    const record = JSON.parse(readFileSync(join(out, `${name}.manifest.json`), 'utf8'));
    expect(buildRecordSchema.parse(record)).toBeTruthy();
    expect(record.artifact).toMatchObject({ name, sha256: report.artifacts[0].sha256, diffIds: [expect.stringMatching(/^sha256:[0-9a-f]{64}$/)] });
    expect(record.artifact.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(record.packages.map((p: { name: string }) => p.name)).toEqual(['apt', 'bash']);
    expect(record.image).toMatchObject({
      distribution,
      profile: 'container',
      variant,
      sourceDateEpoch: 1763856000,
      seed: '0e6b1c4d-7f52-4a39-9d0e-5b8a2c61f3e7',
      buildVersion: '20251123.0',
    });
    expect(record.reproduce).toEqual(expect.arrayContaining(['build', '--profile', 'container', '--variant', variant, '--seed', '0e6b1c4d-7f52-4a39-9d0e-5b8a2c61f3e7']));
    expect(report.artifacts[0].record).toBe(join(out, `${name}.manifest.json`));
    const calls = readFileSync(join(dir, 'argv.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as string[]);
    const buildCall = calls.find((c) => c.at(-1) === 'build')!;
    expect(buildCall.slice(0, 6)).toEqual(['--directory', root, '--profile', 'container', '--profile', variant]);
    expect(buildCall).toContain('--source-date-epoch=1763856000');
    expect(buildCall).toContain('--image-version=20251123.0');
    if (distribution === 'arch') {
      expect(buildCall).toContain('--local-mirror=file:///srv/repo');
      expect(buildCall).toContain('--repository-key-check=no');
      expect(r.stderr).toMatch(/warning: repository key checks are off/);
    } else {
      expect(buildCall.find((a) => a.startsWith('--sandbox-tree='))).toBeDefined();
    }
  });

  it('a failing mkosi exits 1 with the cause, the command to re-run and the log tail; earlier artifacts stay', () => {
    const dir = mkdtempSync(join(tmpdir(), 'boxes-cli-'));
    const out = join(dir, 'out');
    mkdirSync(out);
    writeFileSync(join(out, 'earlier.tar'), 'keep me');
    const r = boxes(dir, ['build', '--profile', 'container', '--distribution', 'debian', '--output-dir', out, ...tools(dir)], {
      FAKE_MKOSI_MODE: 'fail',
      FAKE_MKOSI_ARTIFACT: 'x.tar',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/mkosi build of container \(base\) exited with 1: a requested package does not exist/);
    expect(r.stderr).toMatch(/re-run: .*fake-mkosi\.mjs .*build/);
    expect(r.stderr).toContain('E: Unable to locate package does-not-exist');
    expect(readFileSync(join(out, 'earlier.tar'), 'utf8')).toBe('keep me');
    expect(readdirSync(out).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('builds side by side: a target that fails stops the others (SIGTERM), and its failure is the one reported', () => {
    const dir = mkdtempSync(join(tmpdir(), 'boxes-cli-'));
    const out = join(dir, 'out');
    mkdirSync(out);
    writeFileSync(join(out, 'earlier.tar'), 'keep me');
    const r = boxes(dir, ['build', '--profile', 'container,basic', '--jobs', '2', '--distribution', 'debian', '--output-dir', out, ...tools(dir)], {
      FAKE_MKOSI_MODE: 'hang',
      FAKE_MKOSI_FAIL_PROFILE: 'container',
      BOXES_KILL_GRACE_MS: '1500',
    });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/mkosi build of container \(base\) exited with 1/);
    expect(r.stderr).not.toMatch(/^boxes: interrupted/m);
    expect(r.stdout).toMatch(/\[SKIPPED\] Image basic: stopped, another image failed/);
    // The build beside it (basic, which hangs) was stopped.
    const hung = readdirSync(dir).filter((f) => /^fake-mkosi-\d+\.pid$/.test(f));
    expect(hung).toHaveLength(1);
    expect(isAlive(Number(readFileSync(join(dir, hung[0]!), 'utf8')))).toBe(false);
    expect(readdirSync(out).sort()).toEqual(['earlier.tar', 'logs']);
  });

  it('--sign writes a detached signature that gpg verifies; an unknown key exits 2 before building', () => {
    const dir = mkdtempSync(join(tmpdir(), 'boxes-cli-'));
    const gnupg = join(dir, 'gnupg');
    mkdirSync(gnupg, { mode: 0o700 });
    const gpg = (args: string[]) => spawnSync('gpg', ['--batch', ...args], { env: { ...process.env, GNUPGHOME: gnupg }, encoding: 'utf8' });
    try {
      expect(gpg(['--passphrase', '', '--quick-gen-key', 'boxes test <test@boxes.invalid>', 'ed25519', 'sign', 'never']).status).toBe(0);
      const out = join(dir, 'out');
      const name = 'Debian-13-x86_64-container-base-20251123.0.tar';
      const args = ['build', '--profile', 'container', '--distribution', 'debian', '--source-date-epoch', '1763856000', '--output-dir', out, '--json', ...tools(dir)];
      const bad = boxes(dir, [...args, '--sign', 'nobody@boxes.invalid'], { GNUPGHOME: gnupg, FAKE_MKOSI_ARTIFACT: name });
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/cannot sign with nobody@boxes\.invalid: no such secret key/);
      expect(existsSync(out)).toBe(false);
      const r = boxes(dir, [...args, '--sign', 'test@boxes.invalid'], { GNUPGHOME: gnupg, FAKE_MKOSI_ARTIFACT: name });
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).artifacts[0].signature).toBe(join(out, `${name}.sig`));
      expect(gpg(['--verify', join(out, `${name}.sig`), join(out, name)]).status).toBe(0);
      writeFileSync(join(out, name), 'tampered');
      expect(gpg(['--verify', join(out, `${name}.sig`), join(out, name)]).status).not.toBe(0);
    } finally {
      spawnSync('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: gnupg } });
    }
  });

  it('an artifact that breaks a security rule is not published: exit 1 naming rule and file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'boxes-cli-'));
    const out = join(dir, 'out');
    mkdirSync(out);
    writeFileSync(join(out, 'earlier.tar'), 'keep me');
    const r = boxes(dir, ['build', '--profile', 'container', '--distribution', 'debian', '--source-date-epoch', '1763856000', '--output-dir', out, ...tools(dir)], {
      FAKE_MKOSI_ARTIFACT: 'Debian-13-x86_64-container-base-20251123.0.tar',
      FAKE_MKOSI_PLANT: 'root/.bash_history',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Debian-13-x86_64-container-base-20251123\.0\.tar breaks 1 security rule: shell-history \/root\/\.bash_history/);
    expect(readdirSync(out).sort()).toEqual(['earlier.tar', 'logs']);
  });

  it('bad input exits 2 without creating the output directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'boxes-cli-'));
    for (const args of [
      ['--profile', 'nope'],
      ['--profile', 'container', '--seed', 'x'],
      ['--profile', 'container', '--variant', 'x'],
    ]) {
      const r = boxes(dir, ['build', ...args, '--distribution', 'debian', '--output-dir', join(dir, 'out')]);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(existsSync(join(dir, 'out'))).toBe(false);
    }
    const file = join(dir, 'file');
    writeFileSync(file, '');
    const r = boxes(dir, ['build', '--profile', 'container', '--distribution', 'debian', '--output-dir', join(file, 'out')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cannot write the output directory/);
  });

  it('a second build into a locked output directory refuses', () => {
    const dir = mkdtempSync(join(tmpdir(), 'boxes-cli-'));
    const out = join(dir, 'out');
    mkdirSync(out);
    writeFileSync(join(out, '.boxes.lock'), `${process.pid}\n`);
    const r = boxes(dir, ['build', '--profile', 'container', '--distribution', 'debian', '--output-dir', out, ...tools(dir)]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/another boxes build \(pid \d+\) is writing to/);
  });

  it.each([
    ['hang', 'obeys'],
    ['ignore-term', 'ignores'],
  ])('Ctrl-C with a child that %s SIGTERM exits 130 and removes temporary files', async (mode) => {
    const dir = mkdtempSync(join(tmpdir(), 'boxes-cli-'));
    const out = join(dir, 'out');
    mkdirSync(out);
    writeFileSync(join(out, 'earlier.tar'), 'keep me');
    const argv = [cli, 'build', '--profile', 'container', '--distribution', 'debian', '--output-dir', out, ...tools(dir)];
    const { code, stderr, mkosiAlive } = await interruptOnceMkosiRuns(argv, env(dir, { FAKE_MKOSI_MODE: mode, BOXES_KILL_GRACE_MS: '1500' }), dir);
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/interrupted/);
    expect(mkosiAlive).toBe(false);
    expect(readdirSync(out).sort()).toEqual(['earlier.tar', 'logs']);
  });

  it('Ctrl-C with two builds side by side stops both and exits 130', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'boxes-cli-'));
    const out = join(dir, 'out');
    const argv = [cli, 'build', '--all', '--jobs', '2', '--distribution', 'debian', '--output-dir', out, ...tools(dir)];
    const { code, stderr, mkosiAlive, builds } = await interruptOnceMkosiRuns(argv, env(dir, { FAKE_MKOSI_MODE: 'hang', BOXES_KILL_GRACE_MS: '1500' }), dir, 2);
    expect(builds).toBe(2);
    expect(code, stderr).toBe(130);
    expect(mkosiAlive).toBe(false);
    expect(readdirSync(out).sort()).toEqual(['logs']);
  });
});

describe('boxes list', () => {
  it('prints profiles and variants as JSON', () => {
    const r = spawnSync('node', [cli, 'list', '--json'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).profiles[0]).toMatchObject({ name: 'container', variants: ['base', 'base-devel', 'multilib-devel'] });
  });
});

describe('boxes --version and what the CLI echoes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'boxes-cli-version-'));
  it("prints its version and the pinned mkosi; `catalog --version V` stays the catalog's", () => {
    const r = boxes(dir, ['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^boxes \d+\.\d+\.\d+ \(mkosi 25\.3-7 pinned\)\n$/);
    const c = boxes(dir, ['catalog', '--version', '1.0', '--name', 'a/b', '--base-url', 'http://127.0.0.1/']);
    expect(c.stderr).toMatch(/no boxes given/);
  });

  it('shows control bytes of an argument as escapes, in one line', () => {
    const r = boxes(dir, ['build', '--profile', 'x\u001b[31mred\u0007', '--distribution', 'debian']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown profile 'x\\x1b[31mred\\x07'");
    expect(r.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f]/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('bad input under --json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'boxes-cli-json-'));
  it.each([
    [['build', '--profile', 'container', '--distribution', 'debian', '--source-date-epoch', '99999999999999', '--json'], /--source-date-epoch: must be at most/],
    [['build', '--profile', 'container', '--bogus', '--json'], /unknown option '--bogus'/],
    [['audit', dir, '--json'], /is not a file/],
  ])('%j: exit 2 and an error object on stdout, never an empty success', (args, message) => {
    const r = boxes(dir, args);
    expect(r.status).toBe(2);
    const out = JSON.parse(r.stdout) as { error: { exitCode: number; message: string } };
    expect(out.error.exitCode).toBe(2);
    expect(out.error.message).toMatch(message);
  });
});
