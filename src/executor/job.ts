/**
 * Which CI job a custom-executor call belongs to, from the variables GitLab Runner passes
 * (`CUSTOM_ENV_*`), and the one VM name derived from it. Every id must be a number: the name
 * becomes a libvirt domain, a volume and a directory, and nothing else may reach them.
 */
import { UsageError } from '../system/errors.js';

export interface Job {
  runner: string;
  project: string;
  pipeline: string;
  job: string;
}

const IDS: readonly [keyof Job, string][] = [
  ['runner', 'CUSTOM_ENV_CI_RUNNER_ID'],
  ['project', 'CUSTOM_ENV_CI_PROJECT_ID'],
  ['pipeline', 'CUSTOM_ENV_CI_PIPELINE_ID'],
  ['job', 'CUSTOM_ENV_CI_JOB_ID'],
];

/** Every VM, volume and state directory boxes makes for a job starts with this. */
export const VM_PREFIX = 'boxes-runner-';

export function jobFromEnv(env: NodeJS.ProcessEnv): Job {
  const problems: string[] = [];
  const job = {} as Job;
  for (const [key, name] of IDS) {
    const value = env[name];
    if (value === undefined || value === '') problems.push(`${name} is not set`);
    else if (!/^[0-9]{1,19}$/.test(value)) problems.push(`${name} is '${value}', not a number`);
    else job[key] = value;
  }
  if (problems.length > 0) throw new UsageError(`${problems.join('; ')} (boxes executor runs under GitLab Runner's custom executor, which sets them)`);
  return job;
}

export function vmName(j: Job): string {
  return `${VM_PREFIX}${j.runner}-project-${j.project}-pipeline-${j.pipeline}-job-${j.job}`;
}

/** The job a VM name belongs to, or undefined for names boxes did not make. */
export function parseVmName(name: string): Job | undefined {
  const m = /^boxes-runner-(\d+)-project-(\d+)-pipeline-(\d+)-job-(\d+)$/.exec(name);
  return m ? { runner: m[1]!, project: m[2]!, pipeline: m[3]!, job: m[4]! } : undefined;
}
