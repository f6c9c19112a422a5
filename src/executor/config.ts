/**
 * `boxes executor config`: what GitLab Runner's custom executor asks for before a job (its
 * config_exec): where builds and caches live inside the VM, the VM's hostname, the driver, the shell.
 */
import { jobFromEnv, vmName } from './job.js';

export interface ExecutorConfig {
  builds_dir: string;
  cache_dir: string;
  builds_dir_is_shared: boolean;
  hostname: string;
  driver: { name: string; version: string };
  job_env: Record<string, string>;
  shell: string;
}

export function executorConfig(env: NodeJS.ProcessEnv, version: string): ExecutorConfig {
  const vm = vmName(jobFromEnv(env));
  return {
    // One VM per job: nothing is shared, so the runner need not make per-job subdirectories.
    builds_dir: '/builds',
    cache_dir: '/cache',
    builds_dir_is_shared: false,
    hostname: vm,
    driver: { name: 'boxes libvirt executor', version },
    job_env: { BOXES_EXECUTOR_VM: vm },
    shell: 'bash',
  };
}
