// `boxes verify` with a fake mkosi whose artifact embeds its command line (paths differ between the
// two builds): exit 1, naming the artifact and the file inside it that differs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entryDifferences, type TarEntry } from '../../src/verify/tar-entries.js';
import { parseVariations, planVariations, VARIATIONS, type MachineFacts } from '../../src/verify/variations.js';
import { interruptOnceMkosiRuns } from '../support/interrupt.js';

const root = resolve(import.meta.dirname, '../..');
const NAME = 'Debian-13-x86_64-container-base-20251123.0.tar';
/** `boxes verify` of the Debian container with the fake mkosi, into `out`. */
const verifyArgv = (dir: string, out: string) => [
  join(root, 'dist/cli.js'),
  ...['verify', '--profile', 'container', '--distribution', 'debian', '--source-date-epoch', '1763856000'],
  ...['--output-dir', out, '--tools-tree', join(dir, 'tools')],
];

describe('boxes verify', () => {
  it('exits 1 and points at the file that differs between the two builds', () => {
    const dir = mkdtempSync(join(tmpdir(), 'boxes-verify-'));
    mkdirSync(join(dir, 'tools/usr/bin'), { recursive: true });
    const env = {
      ...process.env,
      CI: 'true',
      BOXES_MKOSI: join(root, 'test/support/fake-mkosi.mjs'),
      BOXES_CACHE_DIR: join(dir, 'cache'),
      FAKE_MKOSI_PIDDIR: dir,
      FAKE_MKOSI_ARTIFACT: NAME,
      FAKE_MKOSI_RECORD: join(dir, 'argv.jsonl'),
    };
    const out = join(dir, 'verify');
    const r = spawnSync('node', [...verifyArgv(dir, out), '--vary', 'path'], { env, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`DIFFERS +${NAME.replace(/\./g, '\\.')}: sha256 [0-9a-f]{64} vs [0-9a-f]{64}`));
    // The fake mkosi's layer also takes the wall clock's mtime, which may tick between the builds.
    expect(r.stdout).toMatch(/^ +layer 1: \/etc\/build: content, size(, mtime)? differ$/m);
    expect(r.stderr).toMatch(/boxes: 1 of 1 artifacts differ between two builds \(varied: path\): .*\(layer 1: \/etc\/(build: content, size|: mtime)/);
    // Both builds exist for inspection; the second came from a copy of the tree elsewhere.
    expect(existsSync(join(out, 'first', NAME))).toBe(true);
    expect(existsSync(join(out, 'second/elsewhere', NAME))).toBe(true);
    // The builds run side by side: either may start mkosi first.
    const dirs = readFileLines(join(dir, 'argv.jsonl'))
      .filter((a) => a.at(-1) === 'build')
      .map((a) => a[a.indexOf('--directory') + 1]!)
      .sort((a, b) => (a === root ? -1 : b === root ? 1 : 0));
    expect(dirs).toHaveLength(2);
    expect(dirs[0]).toBe(root);
    // The copy lives in the output directory (verify writes nowhere else), and is gone afterwards.
    expect(dirs[1]).toMatch(new RegExp(`^${out}/\\.tree-[^/]+/another/tree$`));
    expect(existsSync(dirs[1]!)).toBe(false);
  });
});

/** The fake mkosi's /etc/build of an artifact: one `name value` line per fact of its environment. */
function buildFacts(archive: string): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'boxes-verify-facts-'));
  spawnSync('tar', ['-xf', archive, '-C', dir]);
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
  const manifest = JSON.parse(readFileSync(join(dir, 'blobs', index.manifests[0].digest.replace(':', '/')), 'utf8'));
  const text = spawnSync('tar', ['-xOf', join(dir, 'blobs', manifest.layers[0].digest.replace(':', '/')), 'etc/build'], { encoding: 'utf8' }).stdout;
  return Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]),
  );
}

describe('boxes verify varies the second build', () => {
  const run = (args: string[], fields?: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'boxes-verify-vary-'));
    mkdirSync(join(dir, 'tools/usr/bin'), { recursive: true });
    const env = {
      ...process.env,
      CI: 'true',
      TZ: 'UTC',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      BOXES_MKOSI: join(root, 'test/support/fake-mkosi.mjs'),
      BOXES_CACHE_DIR: join(dir, 'cache'),
      FAKE_MKOSI_PIDDIR: dir,
      FAKE_MKOSI_ARTIFACT: NAME,
      FAKE_MKOSI_MODE: 'environment',
      ...(fields ? { FAKE_MKOSI_FIELDS: fields } : {}),
    };
    const out = join(dir, 'verify');
    const r = spawnSync('node', [...verifyArgv(dir, out), '--json', ...args], { env, encoding: 'utf8', timeout: 120_000 });
    return { r, out, report: r.stdout ? JSON.parse(r.stdout) : undefined };
  };

  it('applies each variation to the second build only, and names each in its report', () => {
    const { r, out, report } = run(['--no-vary', 'path']);
    expect(r.status, r.stderr).toBe(1);
    const first = buildFacts(join(out, 'first', NAME));
    const second = buildFacts(join(out, 'second/elsewhere', NAME));
    expect(first).toMatchObject({ TZ: 'UTC', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', workspace: 'not tmpfs' });
    // boxes was started with another umask for the second build and kept it (what it made itself
    // shows it); mkosi alone is given 0022, whatever boxes' umask.
    expect([first.umask, second.umask]).toEqual(['0022', '0022']);
    expect(first.outputDirMode).not.toBe(second.outputDirMode);
    expect(second).toMatchObject({ TZ: 'Etc/GMT-14', LANG: 'fr_CH.UTF-8', LC_ALL: 'fr_CH.UTF-8', hostname: 'boxes-second-build', workspace: 'tmpfs' });
    expect(second.hostname).not.toBe(first.hostname);
    // The first build filled the install cache of its key; the second, with the same key, started
    // from an empty one (it would have found the first's).
    expect([first.cache, second.cache]).toEqual(['empty', 'empty']);
    const names = report.variations.map((v: { name: string }) => v.name);
    expect(names).toEqual(expect.arrayContaining(['umask', 'timezone', 'locale', 'hostname', 'filesystem']));
    expect(names).not.toContain('path');
    if (Number(first.cpus) > 1) expect([names.includes('cpus'), second.cpus]).toEqual([true, '1']);
    else expect(report.skipped).toContainEqual({ name: 'cpus', why: expect.stringContaining('one CPU') });
    // Every variation that was not applied is reported with its reason, none silently dropped.
    expect(report.skipped.map((s: { name: string }) => s.name).sort()).toEqual(['time', 'user', ...(Number(first.cpus) > 1 ? [] : ['cpus'])].sort());
    expect(r.stderr).toMatch(/artifacts differ between two builds \(varied: filesystem, umask, timezone, locale, hostname(, cpus)?\)/);
    expect(readdirSync(join(out, 'first')).filter((n) => n.endsWith('.reproduced.json'))).toEqual([]);
  });

  it('with nothing the build reads varied, gives identical artifacts and a statement that lists the variations', () => {
    const { r, out, report } = run(['--vary', 'path,umask,hostname,filesystem'], 'LANG,TZ');
    expect(r.status, r.stderr).toBe(0);
    expect(report.artifacts[0].identical).toBe(true);
    const statement = JSON.parse(readFileSync(join(out, 'first', `${NAME}.reproduced.json`), 'utf8'));
    expect(statement.predicate.variations.map((v: string) => v.split(':')[0])).toEqual(['path', 'filesystem', 'umask', 'hostname']);
  });

  // With --bisect: four builds, each a boxes process of its own.
  it("fails when the caller's umask leaks into an artifact, naming umask as the variation", () => {
    const { r, report } = run(['--vary', 'umask,timezone', '--bisect'], 'outputDirMode');
    expect(r.status, r.stderr).toBe(1);
    expect(report.artifacts[0].identical).toBe(false);
    expect(report.bisect).toEqual([
      { variation: 'umask', differs: [NAME] },
      { variation: 'timezone', differs: [] },
    ]);
  }, 60_000);

  it('--bisect names the variation that alone makes the difference', () => {
    const { r, report } = run(['--vary', 'umask,timezone,locale', '--bisect'], 'TZ');
    expect(r.status).toBe(1);
    expect(report.bisect).toEqual([
      { variation: 'umask', differs: [] },
      { variation: 'timezone', differs: [NAME] },
      { variation: 'locale', differs: [] },
    ]);
  }, 60_000);

  it('refuses an unknown variation with one line', () => {
    const { r } = run(['--vary', 'umask,moonphase']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe("boxes: --vary: unknown variation 'moonphase' (choose from path, filesystem, umask, timezone, locale, hostname, cpus, time, user)");
  });
});

describe('Ctrl-C', () => {
  it('stops verify with exit 130, stopping both builds side by side and removing the tree copy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'boxes-verify-int-'));
    mkdirSync(join(dir, 'tools/usr/bin'), { recursive: true });
    const tmp = join(dir, 'tmp');
    mkdirSync(tmp);
    const env = {
      ...process.env,
      CI: 'true',
      TMPDIR: tmp,
      BOXES_MKOSI: join(root, 'test/support/fake-mkosi.mjs'),
      BOXES_CACHE_DIR: join(dir, 'cache'),
      FAKE_MKOSI_PIDDIR: dir,
      FAKE_MKOSI_MODE: 'hang',
      BOXES_KILL_GRACE_MS: '1500',
    };
    const argv = [join(root, 'dist/cli.js'), 'verify', '--profile', 'container', '--distribution', 'debian', '--output-dir', join(dir, 'v'), '--tools-tree', join(dir, 'tools')];
    // Both builds run at once: the first in verify's process, the second in a boxes of its own.
    const { code, stderr, mkosiAlive, builds } = await interruptOnceMkosiRuns(argv, env, dir, 2);
    expect(builds).toBe(2);
    expect(code, stderr).toBe(130);
    expect(mkosiAlive).toBe(false);
    expect(spawnSync('pgrep', ['-f', `verify-second-build ${join(dir, 'v')}`]).status).toBe(1);
    expect(readdirSync(tmp)).toEqual([]);
    for (const d of ['v', 'v/first', 'v/second']) expect(readdirSync(join(dir, d)).filter((n) => n.startsWith('.'))).toEqual([]);
  });
});

function readFileLines(path: string): string[][] {
  return spawnSync('cat', [path], { encoding: 'utf8' })
    .stdout.trim()
    .split('\n')
    .map((l) => JSON.parse(l) as string[]);
}

describe('tar entry differences', () => {
  const e = (over: Partial<TarEntry> = {}): TarEntry => ({ type: 'File', mode: 0o644, owner: '0:0', mtime: 1, size: 3, sha256: 'a', linkpath: '', ...over });
  it('names what differs, and what only one side has', () => {
    const a = new Map([
      ['etc/x', e()],
      ['etc/y', e()],
      ['etc/z', e()],
    ]);
    const b = new Map([
      ['etc/x', e({ sha256: 'b' })],
      ['etc/y', e({ mtime: 2, mode: 0o600 })],
      ['etc/w', e()],
    ]);
    expect(entryDifferences(a, b)).toEqual(['etc/w: only in the second build', 'etc/x: content differs', 'etc/y: mode, mtime differ', 'etc/z: only in the first build']);
  });
});

describe('variation plans', () => {
  const facts = (over: Partial<MachineFacts> = {}): MachineFacts => ({
    mode: 'root',
    cpus: [0, 1],
    umask: 0o022,
    env: { TZ: 'UTC' },
    hostname: 'builder',
    tmpfs: undefined,
    workspaceOnTmpfs: false,
    ...over,
  });

  it('skips, with a reason, what the machine cannot vary', async () => {
    const plan = await planVariations(new Set(VARIATIONS), facts({ mode: 'single-uid', cpus: [0], workspaceOnTmpfs: true }));
    expect(plan.skipped.map((s) => s.name)).toEqual(['filesystem', 'hostname', 'cpus', 'time', 'user']);
    expect(plan.skipped.find((s) => s.name === 'hostname')!.why).toMatch(/--single-uid/);
    expect(plan.environment.wrapper).toEqual([]);
    expect(plan.umask).toBe(0o002);
  });

  it('wraps mkosi in one CPU and a UTS namespace, and sets TZ and the locale', async () => {
    const plan = await planVariations(new Set(['umask', 'timezone', 'locale', 'hostname', 'cpus'] as const), facts({ umask: 0o002 }));
    expect(plan.environment.wrapper).toEqual([
      'taskset',
      '--cpu-list',
      '0',
      'unshare',
      '--uts',
      '--',
      'sh',
      '-c',
      'hostname "$1" && shift && exec "$@"',
      'sh',
      'boxes-second-build',
    ]);
    expect(plan.umask).toBe(0o022);
    expect(plan.environment.env).toEqual({ TZ: 'Etc/GMT-14', LANG: 'fr_CH.UTF-8', LC_ALL: 'fr_CH.UTF-8', LANGUAGE: 'fr' });
  });

  it('--no-vary leaves out, an unknown name is refused', () => {
    expect([...parseVariations(undefined, 'time,user')]).toEqual(['path', 'filesystem', 'umask', 'timezone', 'locale', 'hostname', 'cpus']);
    expect(() => parseVariations('umask', 'moon')).toThrow(/--no-vary: unknown variation 'moon'/);
  });
});
