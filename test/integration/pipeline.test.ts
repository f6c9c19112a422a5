// The release pipeline, .gitlab-ci.yml, checked offline with gitlab-ci-local (no GitLab, no runner):
// it passes GitLab's JSON schema, and a copy with a misspelt key does not; its stages run lint,
// build, test, reproduce, sign, publish, cleanup in that order, each with exactly the expected jobs;
// sign and publish run only for tags and schedules, cleanup only for schedules; every
// needs:parallel:matrix selector names a build that exists (and a wrong one is caught); and the lint
// job (npm ci, shellcheck, npm run lint, the unit tests, which need nothing but Node) passes through
// gitlab-ci-local's shell executor, while a lint job that fails is reported as failed. The shell executor runs jobs in the project
// directory itself, so everything happens in a throwaway git repository holding the checkout's
// files (tracked ones and new ones git does not ignore): nothing is written into the checkout.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const gitlabCiLocal = join(root, 'node_modules/.bin/gitlab-ci-local');
const STAGES = ['lint', 'build', 'test', 'reproduce', 'sign', 'publish', 'cleanup'];
const PROFILES = ['container', 'basic', 'cloud-init', 'libvirt-executor', 'vagrant-libvirt', 'vagrant-virtualbox'];
/** Every profile of both distributions, and archlinux-docker's two other container variants. */
const BUILDS = [...['debian', 'arch'].flatMap((d) => PROFILES.map((p) => [d, p])), ['arch', 'container', 'base-devel'], ['arch', 'container', 'multilib-devel']];
const entry = ([d, p, v]: string[]) => `${d}:${p}${v ? `-${v}` : ''}`;
const EXPECTED: Record<string, string[]> = {
  lint: ['lint'],
  // gitlab-ci-local names matrix jobs without the space GitLab puts after each comma.
  build: BUILDS.map((b) => `build: [${b.join(',')}]`),
  test: BUILDS.map((b) => `${b[1] === 'container' ? 'audit' : 'test'}:${entry(b)}`),
  reproduce: BUILDS.map((b) => `reproduce:${entry(b)}`),
  sign: ['sign'],
  publish: ['publish'],
  cleanup: ['cleanup'],
};
for (const jobs of Object.values(EXPECTED)) jobs.sort();

let work: string;
let repo: string;

function run(cmd: string, args: string[], timeout = 120_000) {
  const r = spawnSync(cmd, args, { cwd: repo, encoding: 'utf8', timeout });
  // Colours come from the jobs' own tools too (vitest), whatever --no-color says.
  return { status: r.status, stdout: r.stdout, output: `${r.stdout}${r.stderr}`.replace(/\x1b\[[0-9;]*m/g, '') };
}
// --home: no ~/.gitlab-ci-local/variables.yml of whoever runs the suite leaks in.
const gcl = (args: string[], timeout?: number) => run(gitlabCiLocal, ['--no-color', '--home', join(work, 'home'), ...args], timeout);
/** Overriding predefined variables is what these runs are for: no warning (it would go to stdout). */
const asPipeline = (variables: string[]) => [...variables.flatMap((v) => ['--variable', v]), '--ignore-predefined-vars', 'CI_PIPELINE_SOURCE,CI_COMMIT_TAG'];

/** A copy of the pipeline with one edit, which must apply. */
function variant(name: string, from: string | RegExp, to: string): string {
  const text = readFileSync(join(repo, '.gitlab-ci.yml'), 'utf8');
  const changed = text.replace(from, to);
  expect(changed, `${name}: the edit did not apply`).not.toBe(text);
  writeFileSync(join(repo, name), changed);
  return name;
}

/** The jobs a pipeline with these variables runs, by stage. */
function jobsByStage(variables: string[]): Record<string, string[]> {
  const r = gcl(['--list-json', ...asPipeline(variables)]);
  expect(r.status, r.output).toBe(0);
  const byStage: Record<string, string[]> = {};
  for (const job of JSON.parse(r.stdout) as { name: string; stage: string; when: string }[]) if (job.when !== 'never') (byStage[job.stage] ??= []).push(job.name);
  for (const jobs of Object.values(byStage)) jobs.sort();
  return byStage;
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'boxes-pipeline-'));
  // The unit tests run the CLI as nobody too, from the copy: it must be readable.
  chmodSync(work, 0o755);
  repo = join(work, 'repo');
  mkdirSync(repo);
  const files = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' }).stdout;
  for (const f of files.split('\0').filter((f) => f && existsSync(join(root, f)))) cpSync(join(root, f), join(repo, f));
  for (const args of [
    ['init', '-q', '-b', 'main'],
    ['add', '-A'],
    ['-c', 'user.name=boxes', '-c', 'user.email=boxes@example.org', '-c', 'commit.gpgsign=false', 'commit', '-q', '-m', 'pipeline test'],
    // gitlab-ci-local derives CI_PROJECT_* and the default branch from origin; without them it
    // falls back, with a warning on every run.
    ['remote', 'add', 'origin', 'https://gitlab.example.org/boxes/boxes.git'],
    ['update-ref', 'refs/remotes/origin/main', 'HEAD'],
    ['symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main'],
  ]) {
    const r = run('git', args);
    expect(r.status, r.output).toBe(0);
  }
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the release pipeline under gitlab-ci-local', () => {
  it("passes GitLab's JSON schema, and a copy with a misspelt key does not", () => {
    const valid = gcl(['--list']);
    expect(valid.status, valid.output).toBe(0);
    expect(valid.output).toMatch(/json schema validated/);
    const invalid = gcl(['--file', variant('misspelt.yml', '  artifacts:\n    name:', '  artifact:\n    name:'), '--list']);
    expect(invalid.status).not.toBe(0);
    expect(invalid.output).toContain("'artifact' property is not expected to be here at build");
  });

  it('runs its stages in order, each with its jobs; releases only for tags and schedules', () => {
    const stages = /^stages:\n((?: +- .+\n)+)/m.exec(gcl(['--preview']).stdout)?.[1];
    expect(
      stages
        ?.split('\n')
        .filter(Boolean)
        .map((s) => s.replace(/^ +- /, '')),
    ).toEqual(['.pre', ...STAGES, '.post']);
    expect(jobsByStage(['CI_PIPELINE_SOURCE=schedule'])).toEqual(EXPECTED);
    const { sign, publish, cleanup, ...push } = EXPECTED;
    expect(cleanup).toEqual(['cleanup']);
    expect(jobsByStage([])).toEqual(push);
    expect(jobsByStage(['CI_PIPELINE_SOURCE=push', 'CI_COMMIT_TAG=v20261126.1'])).toEqual({ ...push, sign, publish });
  });

  it('needs only builds that exist; a selector that names none is caught', () => {
    const chain = (file: string) => gcl(['--file', file, '--validate-dependency-chain', ...asPipeline(['CI_PIPELINE_SOURCE=schedule'])]);
    const ok = chain('.gitlab-ci.yml');
    expect(ok.status, ok.output).toBe(0);
    expect(ok.output).toContain('All job dependencies are valid');
    const wrong = chain(variant('wrong-needs.yml', '{ DISTRIBUTION: arch, PROFILE: basic }', '{ DISTRIBUTION: arch, PROFILE: basik }'));
    expect(wrong.status).not.toBe(0);
    expect(wrong.output).toContain('test:arch:basic needs.parallel.matrix selector for build matched zero permutations');
  });

  it(
    'runs the lint job through the shell executor: npm ci, shellcheck, npm run lint and the unit tests pass',
    () => {
      const script = /^lint:\n {2}stage: lint\n {2}script:\n((?: {4}- .+\n)+)/m.exec(readFileSync(join(repo, '.gitlab-ci.yml'), 'utf8'))?.[1];
      const commands = script
        ?.split('\n')
        .filter(Boolean)
        .map((l) => l.replace(/^ {4}- /, ''));
      expect(commands).toEqual(['npm ci --no-audit --no-fund', 'npm run lint:hooks', 'npm run lint', 'npm run test:unit']);
      const r = gcl(['lint'], 10 * 60_000);
      expect(r.status, r.output.slice(-4000)).toBe(0);
      for (const c of commands!) expect(r.output).toContain(`lint $ ${c}`);
      expect(r.output).toMatch(/no dependency violations found/);
      expect(r.output).toMatch(/Test Files +\d+ passed \(\d+\)/);
      expect(r.output).not.toMatch(/Test Files .*failed/);
      expect(r.output).toMatch(/^ PASS +lint$/m);
    },
    10 * 60_000,
  );

  it('reports a lint job that fails as failed', () => {
    const r = gcl(['--file', variant('failing-lint.yml', /^lint:\n {2}stage: lint\n {2}script:\n/m, '$&    - exit 1\n'), 'lint']);
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/^ FAIL +lint/m);
    expect(r.output).not.toMatch(/^lint \$ npm ci/m);
  });
});
