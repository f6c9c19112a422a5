// GitLab Runner's side of the custom executor protocol, for tests (gitlab-runner is not packaged
// here): the CUSTOM_ENV_* variables and exit-code variables, config_exec, prepare_exec retried
// after cleanup (three attempts, like the runner), run_exec once per stage in the runner's order
// with a script file per stage, the failure paths, SIGTERM then SIGKILL on cancel, and
// cleanup_exec always.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './cli.js';

export interface JobIds {
  runner: number;
  project: number;
  pipeline: number;
  job: number;
}

export interface JobSpec {
  ids: JobIds;
  /** Options every *_exec gets after `executor <command>` (config.toml's *_args). */
  executorArgs: string[];
  /** The job's own script lines (step_script) and its after_script. */
  script: string;
  afterScript?: string;
  /** Send SIGTERM to the running stage this long after step_script starts. */
  cancelAfterMs?: number;
  gracefulKillMs?: number;
}

export interface StageRun {
  stage: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

export interface JobResult {
  outcome: 'success' | 'build_failure' | 'system_failure' | 'canceled';
  /** What the runner would show in the job log: every *_exec's stdout and stderr, in order. */
  log: string;
  config?: Record<string, unknown>;
  prepareAttempts: number;
  stages: StageRun[];
  /** What run_exec wrote into BUILD_EXIT_CODE_FILE, if anything. */
  buildExitCode?: number;
  cleanupExitCode: number | null;
}

const BUILD_FAILURE = 77;
const SYSTEM_FAILURE = 78;
const PREPARE_ATTEMPTS = 3;

export const STAGES_BEFORE = ['prepare_script', 'get_sources', 'restore_cache', 'download_artifacts'] as const;

/** The scripts GitLab Runner would write for each stage (bash), reduced to what a VM needs. */
function stageScript(stage: string, spec: JobSpec): string {
  const body: Record<string, string> = {
    // The runner's own prepare script names the machine; an image without `hostname` fails here.
    prepare_script: 'echo "Running on $(hostname)..."',
    get_sources: 'mkdir -p /builds/group/project && cd /builds/group/project && echo "Fetching changes..."',
    restore_cache: 'echo "no cache"',
    download_artifacts: 'echo "no artifacts"',
    step_script: `cd /builds/group/project\n${spec.script}`,
    after_script: spec.afterScript ?? 'true',
    archive_cache: 'true',
    archive_cache_on_failure: 'true',
    upload_artifacts_on_success: 'true',
    upload_artifacts_on_failure: 'true',
    cleanup_file_variables: 'rm -rf /builds/group/project.tmp',
  };
  return `#!/usr/bin/env bash\nset -eo pipefail\n${body[stage] ?? 'true'}\n`;
}

export async function runJob(spec: JobSpec): Promise<JobResult> {
  const dir = mkdtempSync(join(tmpdir(), 'runner-standin-'));
  const codeFile = join(dir, 'build-exit-code');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CUSTOM_ENV_CI_RUNNER_ID: String(spec.ids.runner),
    CUSTOM_ENV_CI_PROJECT_ID: String(spec.ids.project),
    CUSTOM_ENV_CI_PIPELINE_ID: String(spec.ids.pipeline),
    CUSTOM_ENV_CI_JOB_ID: String(spec.ids.job),
    CUSTOM_ENV_CI_JOB_NAME: 'test',
    CUSTOM_ENV_CI_PROJECT_PATH: 'group/project',
    BUILD_FAILURE_EXIT_CODE: String(BUILD_FAILURE),
    SYSTEM_FAILURE_EXIT_CODE: String(SYSTEM_FAILURE),
    BUILD_EXIT_CODE_FILE: codeFile,
  };
  let log = '';
  const exec = (command: string, extra: string[] = [], cancelAfterMs?: number) =>
    new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null; stdout: string }>((resolve) => {
      const child = spawn('node', [cli, 'executor', command, ...extra, ...spec.executorArgs], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout.on('data', (d) => {
        stdout += String(d);
        log += String(d);
      });
      child.stderr.on('data', (d) => (log += String(d)));
      let timers: NodeJS.Timeout[] = [];
      if (cancelAfterMs !== undefined) {
        timers = [setTimeout(() => child.kill('SIGTERM'), cancelAfterMs), setTimeout(() => child.kill('SIGKILL'), cancelAfterMs + (spec.gracefulKillMs ?? 60_000))];
      }
      child.on('exit', (exitCode, signal) => {
        timers.forEach(clearTimeout);
        resolve({ exitCode, signal, stdout });
      });
    });
  const result: JobResult = { outcome: 'success', log: '', prepareAttempts: 0, stages: [], cleanupExitCode: null };
  try {
    const config = await exec('config');
    if (config.exitCode !== 0) return Object.assign(result, { outcome: 'system_failure' as const });
    result.config = JSON.parse(config.stdout) as Record<string, unknown>;

    let prepared = false;
    while (!prepared && result.prepareAttempts < PREPARE_ATTEMPTS) {
      result.prepareAttempts++;
      const p = await exec('prepare');
      if (p.exitCode === 0) prepared = true;
      else if (p.exitCode === BUILD_FAILURE) return Object.assign(result, { outcome: 'build_failure' as const });
      // A system failure: the runner cleans up and tries again.
      else await exec('cleanup');
    }
    if (!prepared) return Object.assign(result, { outcome: 'system_failure' as const });

    const stage = async (name: string, cancelAfterMs?: number) => {
      const script = join(dir, `script.${name}`);
      writeFileSync(script, stageScript(name, spec));
      const r = await exec('run', [script, name], cancelAfterMs);
      result.stages.push({ stage: name, exitCode: r.exitCode, signal: r.signal });
      return r;
    };
    const classify = (r: { exitCode: number | null; signal: NodeJS.Signals | null }) =>
      r.exitCode === 0 ? ('success' as const) : r.exitCode === BUILD_FAILURE ? ('build_failure' as const) : ('system_failure' as const);

    for (const name of STAGES_BEFORE) {
      const r = classify(await stage(name));
      if (r !== 'success') {
        result.outcome = name === 'prepare_script' ? 'system_failure' : r;
        await stage('upload_artifacts_on_failure');
        await stage('cleanup_file_variables');
        return result;
      }
    }
    const step = await stage('step_script', spec.cancelAfterMs);
    if (spec.cancelAfterMs !== undefined && step.signal) {
      result.outcome = 'canceled';
      return result;
    }
    const outcome = classify(step);
    if (spec.cancelAfterMs !== undefined && outcome !== 'success') {
      result.outcome = 'canceled';
      return result;
    }
    await stage('after_script');
    if (outcome === 'success') {
      await stage('archive_cache');
      await stage('upload_artifacts_on_success');
    } else {
      await stage('archive_cache_on_failure');
      await stage('upload_artifacts_on_failure');
    }
    await stage('cleanup_file_variables');
    result.outcome = outcome;
    return result;
  } finally {
    const c = await exec('cleanup');
    result.cleanupExitCode = c.exitCode;
    result.log = log;
    const code = (() => {
      try {
        return readFileSync(codeFile, 'utf8').trim();
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        return '';
      }
    })();
    if (code) result.buildExitCode = Number(code);
    rmSync(dir, { recursive: true, force: true });
  }
}
