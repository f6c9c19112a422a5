// `boxes reproduce` with a fake mkosi: bad records exit 2 naming the field, a record from another
// commit is refused unless told, and different bytes exit 1.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeRecord } from '../../src/record/record.js';
import { parseBuildOptions } from '../../src/plan/options.js';
import { mismatches } from '../../src/verify/reproduce.js';

const root = resolve(import.meta.dirname, '../..');
const cli = join(root, 'dist/cli.js');
const fake = join(root, 'test/support/fake-mkosi.mjs');
const NAME = 'Debian-13-x86_64-container-base-20251123.0.tar';

function run(dir: string, args: string[]) {
  const env = { ...process.env, CI: 'true', BOXES_MKOSI: fake, BOXES_CACHE_DIR: join(dir, 'cache'), FAKE_MKOSI_PIDDIR: dir, FAKE_MKOSI_ARTIFACT: NAME };
  return spawnSync('node', [cli, ...args], { env, encoding: 'utf8', timeout: 60_000 });
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
});

describe('boxes reproduce of a qcow2 image', () => {
  it("builds again with the record's qcow2 compression", () => {
    const dir = mkdtempSync(join(tmpdir(), 'boxes-reproduce-zstd-'));
    mkdirSync(join(dir, 'tools/usr/bin'), { recursive: true });
    const name = 'Debian-13-x86_64-basic-20251123.0.qcow2';
    const argvLog = join(dir, 'argv.jsonl');
    const env = {
      ...process.env,
      CI: 'true',
      BOXES_MKOSI: fake,
      BOXES_CACHE_DIR: join(dir, 'cache'),
      FAKE_MKOSI_PIDDIR: dir,
      FAKE_MKOSI_ARTIFACT: name,
      FAKE_MKOSI_RECORD: argvLog,
    };
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
