// `boxes reproduce` with a fake mkosi: bad records exit 2 naming the field, a record from another
// commit is refused unless told, different bytes exit 1, and a record whose packages a live mirror
// (on loopback) no longer serves exits 1 before any build.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRecord } from '../../src/record/record.js';
import { parseBuildOptions } from '../../src/plan/options.js';
import { mismatches } from '../../src/verify/reproduce.js';

const root = resolve(import.meta.dirname, '../..');
const cli = join(root, 'dist/cli.js');
const fake = join(root, 'test/support/fake-mkosi.mjs');
const NAME = 'Debian-13-x86_64-container-base-20251123.0.tar';

/** The CLI's environment with the fake mkosi, its cache and pid files in DIR. */
const fakeEnv = (dir: string, extra: Record<string, string> = {}) => ({
  ...process.env,
  CI: 'true',
  BOXES_MKOSI: fake,
  BOXES_CACHE_DIR: join(dir, 'cache'),
  FAKE_MKOSI_PIDDIR: dir,
  ...extra,
});

function run(dir: string, args: string[], extra: Record<string, string> = {}) {
  return spawnSync('node', [cli, ...args], { env: fakeEnv(dir, { FAKE_MKOSI_ARTIFACT: NAME, ...extra }), encoding: 'utf8', timeout: 60_000 });
}

/** A real record, written by a build with the fake mkosi. */
function recorded(dir: string): string {
  mkdirSync(join(dir, 'tools/usr/bin'), { recursive: true });
  const r = run(dir, [
    'build',
    '--profile',
    'container',
    '--distribution',
    'debian',
    '--source-date-epoch',
    '1763856000',
    '--output-dir',
    join(dir, 'out'),
    '--tools-tree',
    join(dir, 'tools'),
  ]);
  expect(r.status, r.stderr).toBe(0);
  return join(dir, 'out', `${NAME}.manifest.json`);
}

describe('boxes reproduce', () => {
  const dir = mkdtempSync(join(tmpdir(), 'boxes-reproduce-'));
  const good = recorded(dir);
  const record = JSON.parse(readFileSync(good, 'utf8'));
  const write = (name: string, value: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
    return path;
  };

  it.each([
    ['not JSON', () => write('a.json', '{ nope'), /a\.json is not JSON/],
    [
      'missing fields',
      () => write('b.json', { ...record, image: { ...record.image, seed: undefined }, artifact: undefined }),
      /b\.json is not a boxes build record: image\.seed: .*; artifact: /,
    ],
    ['an unknown profile', () => write('c.json', { ...record, image: { ...record.image, profile: 'floppy' } }), /c\.json: image\.profile: unknown profile 'floppy'/],
    ['a missing file', () => join(dir, 'gone.json'), /gone\.json cannot be read as a build record \(ENOENT\)/],
    [
      'another commit',
      () => write('d.json', { ...record, config: { commit: '0'.repeat(40), dirty: false } }),
      /cannot reproduce .*: the config tree is at [0-9a-f]+, the record was built from 0{40}/,
    ],
  ])('refuses %s with exit 2 and one line', (_what, make, message) => {
    const r = run(dir, ['reproduce', make(), '--output-dir', join(dir, 'again')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('exits 1 naming both digests when the rebuilt bytes differ', () => {
    // The fake mkosi writes its own command line (with a staging path) into the artifact.
    const r = run(dir, ['reproduce', good, '--ignore-mismatch', '--output-dir', join(dir, 'again'), '--tools-tree', join(dir, 'tools'), '--json']);
    expect(r.status).toBe(1);
    // With --json, stdout is for the result only: no progress lines, and nothing on failure.
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`${NAME.replace(/\./g, '\\.')} differs from its record: sha256 [0-9a-f]{64}, recorded ${record.artifact.sha256}`));
  });

  it('names each package the archive gave otherwise than the record lists, and where the recorded version stays', () => {
    const moved = { FAKE_MKOSI_PACKAGES: 'bash 5.2.37-2,apt 3.0.4,zstd 1.5.7+dfsg-1' };
    const r = run(dir, ['reproduce', good, '--ignore-mismatch', '--output-dir', join(dir, 'moved'), '--tools-tree', join(dir, 'tools')], moved);
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines.at(-3)).toMatch(
      /differs from its record: .*\(the archive has moved on since the build, package by package below; a build with --snapshot DATE keeps its record reproducible\)$/,
    );
    expect(lines.slice(-2)).toEqual([
      '  apt 3.0.3 (recorded) is 3.0.4 now; the recorded version: https://snapshot.debian.org/binary/apt/',
      '  zstd 1.5.7+dfsg-1 was installed this time; the record has no zstd',
    ]);
  });
});

describe('boxes reproduce of a qcow2 image', () => {
  it("builds again with the record's qcow2 compression", () => {
    const dir = mkdtempSync(join(tmpdir(), 'boxes-reproduce-zstd-'));
    mkdirSync(join(dir, 'tools/usr/bin'), { recursive: true });
    const name = 'Debian-13-x86_64-basic-20251123.0.qcow2';
    const argvLog = join(dir, 'argv.jsonl');
    const env = fakeEnv(dir, { FAKE_MKOSI_ARTIFACT: name, FAKE_MKOSI_RECORD: argvLog });
    const boxes = (args: string[]) => spawnSync('node', [cli, ...args, '--tools-tree', join(dir, 'tools')], { env, encoding: 'utf8', timeout: 60_000 });
    const built = boxes([
      'build',
      '--profile',
      'basic',
      '--distribution',
      'debian',
      '--source-date-epoch',
      '1763856000',
      '--qcow2-compression',
      'zstd',
      '--output-dir',
      join(dir, 'out'),
    ]);
    expect(built.status, built.stderr).toBe(0);
    const rec = JSON.parse(readFileSync(join(dir, 'out', `${name}.manifest.json`), 'utf8'));
    expect(rec.reproduce).toEqual(expect.arrayContaining(['--qcow2-compression', 'zstd']));
    boxes(['reproduce', join(dir, 'out', `${name}.manifest.json`), '--ignore-mismatch', '--output-dir', join(dir, 'again')]);
    const builds = readFileSync(argvLog, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as string[])
      .filter((a) => a.at(-1) === 'build');
    expect(builds).toHaveLength(2);
    for (const argv of builds) expect(argv).toContain('--environment=BOXES_QCOW2_COMPRESSION=zstd');
  });
});

describe('boxes reproduce of several records', () => {
  const dir = mkdtempSync(join(tmpdir(), 'boxes-reproduce-many-'));
  mkdirSync(join(dir, 'tools/usr/bin'), { recursive: true });
  const argvLog = join(dir, 'argv.jsonl');
  const names = ['Debian-13-x86_64-basic-20251123.0.qcow2', 'Debian-13-x86_64-cloudimg-20251123.0.qcow2'];
  // The fake mkosi writes what it was given per field: with TZ alone, two builds give the same bytes.
  const boxes = (args: string[], mode: string) =>
    spawnSync('node', [cli, ...args, '--tools-tree', join(dir, 'tools')], {
      env: fakeEnv(dir, { FAKE_MKOSI_RECORD: argvLog, FAKE_MKOSI_MODE: mode, FAKE_MKOSI_FIELDS: 'TZ' }),
      encoding: 'utf8',
      timeout: 60_000,
    });
  const built = boxes(['build', '--profile', 'basic,cloud-init', '--distribution', 'debian', '--source-date-epoch', '1763856000', '--output-dir', join(dir, 'out')], 'environment');
  const records = names.map((n) => join(dir, 'out', `${n}.manifest.json`));
  const builds = () =>
    readFileSync(argvLog, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as string[])
      .filter((a) => a.at(-1) === 'build').length;

  it('rebuilds records that differ only in their profile in one build, and writes a statement for each', () => {
    expect(built.status, built.stderr).toBe(0);
    const before = builds();
    const r = boxes(['reproduce', ...records, '--ignore-mismatch', '--output-dir', join(dir, 'again')], 'environment');
    expect(r.status, r.stderr).toBe(0);
    expect(builds() - before).toBe(2);
    // One plan for both: their builds run side by side, as one boxes build's targets do.
    expect(r.stdout).toMatch(/Plan: 2 images, 2 at a time/);
    for (const n of names) {
      expect(r.stdout).toContain(`Reproduced ${join(dir, 'again', n)}: sha256 `);
      expect(r.stdout).toContain(`Verification statement: ${join(dir, 'out', `${n}.reproduced.json`)}\n`);
      expect(JSON.parse(readFileSync(join(dir, 'out', `${n}.reproduced.json`), 'utf8')).subject).toEqual([expect.objectContaining({ name: n })]);
    }
  });

  it("prints an array in the records' order with --json (one record: one object)", () => {
    const r = boxes(['reproduce', records[1]!, records[0]!, '--ignore-mismatch', '--output-dir', join(dir, 'json'), '--json'], 'environment');
    expect(r.status, r.stderr).toBe(0);
    const shown = JSON.parse(r.stdout) as { artifact: string; identical: boolean; statement: string }[];
    expect(shown.map((x) => x.artifact)).toEqual([names[1], names[0]].map((n) => join(dir, 'json', n!)));
    expect(shown.every((x) => x.identical)).toBe(true);
    const one = boxes(['reproduce', records[0]!, '--ignore-mismatch', '--output-dir', join(dir, 'one'), '--json'], 'environment');
    expect(JSON.parse(one.stdout)).toMatchObject({ artifact: join(dir, 'one', names[0]!), identical: true });
  });

  it('names every record whose rebuild differs, exit 1', () => {
    // The default fake writes its command line, with a staging path, into each artifact.
    const r = boxes(['reproduce', ...records, '--ignore-mismatch', '--output-dir', join(dir, 'differs')], 'ok');
    expect(r.status).toBe(1);
    for (const n of names) expect(r.stderr).toMatch(new RegExp(`${n.replace(/\./g, '\\.')} differs from its record`));
  });

  it('refuses one artifact named by two records, exit 2, before building', () => {
    const before = builds();
    const r = boxes(['reproduce', records[0]!, records[0]!, '--ignore-mismatch', '--output-dir', join(dir, 'twice')], 'environment');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/Debian-13-x86_64-basic-20251123\.0\.qcow2 is named by two records/);
    expect(builds()).toBe(before);
  });
});

describe('mismatches', () => {
  const o = parseBuildOptions({ profile: 'basic', sourceDateEpoch: '0' }, { now: new Date(), hostDistribution: 'debian' });
  const r = makeRecord({
    toolVersion: '0.1.0',
    revision: 'abc',
    mkosiVersion: '25.3',
    toolsTree: { distribution: null, release: null, packages: [] },
    options: o,
    target: o.targets[0]!,
    seed: '0e6b1c4d-7f52-4a39-9d0e-5b8a2c61f3e7',
    packages: [],
    artifact: { name: 'x', sha256: 'a'.repeat(64), size: 1 },
  });
  it.each([
    ['abc', '25.3', []],
    ['abc-dirty', '25.3', ['the config tree has local edits']],
    ['def', '25.3', ['the config tree is at def, the record was built from abc']],
    ['abc', '26.0', ['mkosi is 26.0, the record used 25.3']],
    ['abc', undefined, ['mkosi is not installed, the record used 25.3']],
  ])('tree %s, mkosi %s', (revision, mkosi, expected) => {
    expect(mismatches(r, revision, mkosi)).toEqual(expected);
  });
});

describe('boxes reproduce from a live Debian mirror', () => {
  const dir = mkdtempSync(join(tmpdir(), 'boxes-reproduce-live-'));
  /** What the mirror on loopback serves: path -> xz Packages index. */
  const files = new Map<string, Buffer>();
  const server = createServer((request, response) => {
    const body = files.get(request.url ?? '');
    response.writeHead(body ? 200 : 404).end(body);
  });
  let mirror = '';
  const INDEX = '/debian/dists/sid/main/binary-amd64/Packages.xz';
  const SID = 'Debian-sid-x86_64-container-base-20251123.0.tar';
  const serve = (packages: string[]) => files.set(INDEX, xz(packages.map((p) => `Package: ${p.split(' ')[0]}\nVersion: ${p.split(' ')[1]}\nArchitecture: amd64\n`).join('\n')));
  const xz = (text: string) => spawnSync('xz', ['-c'], { input: text }).stdout;

  beforeAll(async () => {
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    mirror = `http://127.0.0.1:${(server.address() as AddressInfo).port}/debian`;
  });
  afterAll(() => new Promise<void>((done) => server.close(() => done())));

  /** The CLI as a child that does not block this process, which serves the mirror. */
  function runAsync(args: string[], extra: Record<string, string> = {}): Promise<{ status: number | null; stderr: string }> {
    const env = fakeEnv(dir, { FAKE_MKOSI_ARTIFACT: SID, BOXES_ARCHIVE_CHECK: 'on', ...extra });
    const child = spawn('node', [cli, ...args, '--tools-tree', join(dir, 'tools')], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    return new Promise((done) => child.on('close', (status) => done({ status, stderr })));
  }

  let record = '';
  beforeAll(async () => {
    mkdirSync(join(dir, 'tools/usr/bin'), { recursive: true });
    const args = ['--profile', 'container', '--distribution', 'debian', '--release', 'sid', '--mirror', mirror, '--source-date-epoch', '1763856000'];
    const r = await runAsync(['build', ...args, '--output-dir', join(dir, 'out')]);
    expect(r.status, r.stderr).toBe(0);
    record = join(dir, 'out', `${SID}.manifest.json`);
  });

  it('refuses before building, one line per recorded version the mirror no longer serves, and writes nothing', async () => {
    serve(['bash 5.2.37-2', 'apt 3.0.4']);
    const out = join(dir, 'moved');
    const r = await runAsync(['reproduce', record, '--ignore-mismatch', '--output-dir', out]);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      `boxes: cannot reproduce ${SID}: its mirror no longer serves every package its record lists (each recorded version stays at the address below; a build with --snapshot DATE keeps its record reproducible)`,
      '  apt 3.0.3 (amd64) is not in the archive now; the recorded version: https://snapshot.debian.org/binary/apt/',
    ]);
    expect(existsSync(out)).toBe(false);
  });

  it("Arch: refuses before building when the mirror's databases lack a recorded version, naming the Arch Linux Archive", async () => {
    const ARCH = 'Arch-Linux-x86_64-container-base-20251123.0.tar';
    const arch = [
      '--profile',
      'container',
      '--distribution',
      'arch',
      '--mirror',
      `${mirror.replace(/debian$/, 'arch')}`,
      '--no-repository-key-check',
      '--source-date-epoch',
      '1763856000',
    ];
    const built = await runAsync(['build', ...arch, '--output-dir', join(dir, 'arch')], { FAKE_MKOSI_ARTIFACT: ARCH });
    expect(built.status, built.stderr).toBe(0);
    const db = mkdtempSync(join(dir, 'db-'));
    for (const [name, version] of [
      ['bash', '5.2.37-2'],
      ['apt', '3.0.4'],
      ['gcc', '15.2.1-1'],
      ['lib32-glibc', '2.42-1'],
    ]) {
      mkdirSync(join(db, `${name}-${version}`));
      writeFileSync(join(db, `${name}-${version}`, 'desc'), `%NAME%\n${name}\n\n%VERSION%\n${version}\n\n%ARCH%\namd64\n`);
    }
    const tarball = (entries: string[]) => spawnSync('tar', ['-czf', '-', '-C', db, ...entries]).stdout;
    files.set('/arch/core/os/x86_64/core.db', tarball(['bash-5.2.37-2', 'apt-3.0.4']));
    files.set('/arch/extra/os/x86_64/extra.db', tarball(['gcc-15.2.1-1']));
    files.set('/arch/multilib/os/x86_64/multilib.db', tarball(['lib32-glibc-2.42-1']));
    const out = join(dir, 'arch-again');
    const r = await runAsync(['reproduce', join(dir, 'arch', `${ARCH}.manifest.json`), '--ignore-mismatch', '--output-dir', out], { FAKE_MKOSI_ARTIFACT: ARCH });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr.trim().split('\n').slice(-1)).toEqual(['  apt 3.0.3 (amd64) is not in the archive now; the recorded version: https://archive.archlinux.org/packages/a/apt/']);
    expect(existsSync(out)).toBe(false);
  });

  it('builds when the mirror serves every recorded version, or when its index cannot be read (missing, or not xz)', async () => {
    serve(['apt 3.0.3', 'bash 5.2.37-2', 'zstd 1.5.7+dfsg-1']);
    // The fake mkosi's bytes never match a record: a comparison means the build ran.
    const served = await runAsync(['reproduce', record, '--ignore-mismatch', '--output-dir', join(dir, 'served')]);
    expect(served.stderr).toMatch(/differs from its record/);
    files.set(INDEX, Buffer.from('<html>a proxy says no</html>'));
    const garbled = await runAsync(['reproduce', record, '--ignore-mismatch', '--output-dir', join(dir, 'garbled')]);
    expect(garbled.stderr).toMatch(/differs from its record/);
    files.clear();
    const unknown = await runAsync(['reproduce', record, '--ignore-mismatch', '--output-dir', join(dir, 'unknown')]);
    expect(unknown.stderr).toMatch(/differs from its record/);
  });
});
