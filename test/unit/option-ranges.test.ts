// Every option that takes a value, given a value out of its range: exit 2, one line on stderr that
// names the option, nothing written; under --json, the same as an error object on stdout. The
// program runs in this process (`main`), as the binary runs it, so the table costs no process each.
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { boxesInProcess } from '../support/in-process.js';

const dir = mkdtempSync(join(tmpdir(), 'boxes-ranges-'));
const file = join(dir, 'a-file');
writeFileSync(file, 'x');
const empty = join(dir, 'empty');
mkdirSync(empty);
const out = join(dir, 'out');

const build = ['build', '--profile', 'container', '--distribution', 'debian', '--output-dir', out];
const testCmd = ['test', '--profile', 'basic', '--artifact', file, '--distribution', 'debian', '--output-dir', out];
const verify = ['verify', '--profile', 'container', '--distribution', 'debian', '--output-dir', out];
const publish = ['publish', '--output-dir', empty];
const catalog = ['catalog', '--name', 'a/b', '--base-url', 'http://127.0.0.1/', file];

/** [command line, the option it must name, whether the command takes --json]. */
const CASES: [string[], RegExp, boolean][] = [
  [[...build, '--source-date-epoch', '-1'], /--source-date-epoch/, true],
  [[...build, '--source-date-epoch', '12abc'], /--source-date-epoch/, true],
  [[...build, '--source-date-epoch', '1e3'], /--source-date-epoch/, true],
  [[...build, '--source-date-epoch', '253402300800'], /--source-date-epoch/, true],
  [[...build, '--snapshot', '2026-13-01'], /--snapshot/, true],
  [[...build, '--snapshot', '2999-01-01'], /--snapshot/, true],
  [[...build, '--seed', 'not-a-uuid'], /--seed/, true],
  [[...build, '--build-version', '../up'], /--build-version/, true],
  [[...build, '--build-version', ''], /--build-version/, true],
  [[...build, '--mirror', 'ftp://127.0.0.1/debian'], /--mirror/, true],
  [[...build, '--mirror', 'not a url'], /--mirror/, true],
  [[...build, '--release', 'tri\u0001xie'], /--release/, true],
  [[...build, '--tools-tree', join(dir, 'missing')], /--tools-tree/, true],
  [[...build, '--tools-tree', file], /--tools-tree/, true],
  [[...build, '--qcow2-compression', 'lz4'], /--qcow2-compression/, true],
  [[...build, '--qcow2-compression', 'zstd'], /--qcow2-compression/, true],
  [[...build, '--jobs', '0'], /--jobs: must be from 1 to 64/, true],
  [[...build, '--jobs', '65'], /--jobs: must be from 1 to 64/, true],
  [[...build, '--jobs', 'two'], /--jobs: must be a whole number/, true],
  [[...verify, '--jobs', '-1'], /--jobs/, true],
  [['build', '--profile', 'container', '--distribution', 'arch', '--output-dir', out, '--keyring-anchor', file], /--keyring-anchor/, true],
  [['build', '--profile', 'container', '--distribution', 'debian', '--output-dir', file], /output directory/, true],
  // The tools tree's programs see the tree's /usr, not the host's.
  [['build', '--profile', 'basic', '--distribution', 'debian', '--output-dir', '/usr/lib/boxes-out'], /--output-dir: \/usr\/lib\/boxes-out is below \/usr/, true],
  [[...testCmd, '--timeout', '0'], /--timeout/, true],
  [[...testCmd, '--timeout', 'ten'], /--timeout/, true],
  [[...testCmd, '--timeout', '100000'], /--timeout/, true],
  [[...testCmd, '--firmware', 'coreboot'], /--firmware/, true],
  [[...testCmd, '--cpus', '0'], /--cpus/, true],
  [[...testCmd, '--cpus', '65'], /--cpus/, true],
  [[...testCmd, '--check', 'no-such-check'], /--check|no-such-check/, true],
  [['test', '--profile', 'basic', '--artifact', empty, '--distribution', 'debian', '--output-dir', out], /--artifact|is a directory|not a file/, true],
  [[...verify, '--vary', 'moon-phase'], /--vary|moon-phase/, true],
  [[...verify, '--source-date-epoch', '-5'], /--source-date-epoch/, true],
  [['audit', empty, '--json'], /is not a file/, true],
  [['reproduce', empty], /is a directory, not a build record/, true],
  [[...publish, '--boxes', 'ftp://127.0.0.1/x'], /--boxes/, true],
  [[...publish, '--registry', 'http://127.0.0.1/x'], /--registry/, true],
  [[...publish, '--base-url', 'not a url', '--boxes', empty], /--base-url/, true],
  [[...publish, '--sign-passphrase-file', empty, '--registry', 'docker://127.0.0.1:5000/x', '--sign-by', 'ABCD'], /--sign-passphrase-file/, true],
  [[...publish, '--authfile', empty, '--registry', 'docker://127.0.0.1:5000/x'], /--authfile/, true],
  [['publish', '--output-dir', file, '--boxes', empty], /--output-dir: .* is a file, not a directory/, true],
  [['publish', '--output-dir', empty, '--boxes', file], /--boxes: .* is a file, not a directory/, true],
  [[...catalog, '--base-url', 'gopher://x'], /--base-url/, false],
  [['catalog', '--name', 'a b', '--base-url', 'http://127.0.0.1/', file], /--name/, false],
  [['catalog', '--name', 'a/b', '--base-url', 'http://127.0.0.1/', '--output', empty, file], /--output/, false],
  [['executor', 'prepare', '--memory', '0'], /--memory/, false],
  [['executor', 'prepare', '--memory', '64GiB'], /--memory/, false],
  [['executor', 'prepare', '--cpus', '0'], /--cpus/, false],
  [['executor', 'prepare', '--cpus', '1.5'], /--cpus/, false],
  [['executor', 'prepare', '--boot-timeout', '-1'], /--boot-timeout/, false],
  [['executor', 'prepare', '--state-dir', file], /--state-dir/, false],
  [['executor', 'sweep', '--older-than', '-3'], /--older-than/, false],
  [['executor', 'sweep', '--older-than', 'old'], /--older-than/, false],
];

const run = boxesInProcess;

beforeAll(() => {
  vi.stubEnv('CI', 'true');
  vi.stubEnv('BOXES_CACHE_DIR', join(dir, 'cache'));
  vi.stubEnv('CUSTOM_ENV_CI_JOB_ID', '1');
  vi.stubEnv('CUSTOM_ENV_CI_PROJECT_PATH_SLUG', 'p');
});
afterAll(() => vi.unstubAllEnvs());

describe('every option has a range and one error path', () => {
  it.each(CASES)('%j', async (args, names, json) => {
    const r = await run(args);
    expect(r.status, r.stderr).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(names);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(
      readdirSync(dir)
        .filter((n) => n !== 'cache')
        .sort(),
    ).toEqual(['a-file', 'empty']);
    expect(readdirSync(empty)).toEqual([]);
    if (!json) return;
    const j = await run(args.includes('--json') ? args : [...args, '--json']);
    expect(j.status).toBe(2);
    const error = (JSON.parse(j.stdout) as { error: { exitCode: number; message: string } }).error;
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(names);
  });
});
