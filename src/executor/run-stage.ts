/**
 * `boxes executor run SCRIPT STAGE`: the stage's script runs in the job's VM as root (`bash` reading
 * it on stdin), its output streamed as it comes. A non-zero exit of the script is the job's
 * failure (GitLab's BUILD_FAILURE_EXIT_CODE, the script's own code in BUILD_EXIT_CODE_FILE); a VM
 * that cannot be reached is the executor's (SYSTEM_FAILURE_EXIT_CODE).
 */
import { writeFile } from 'node:fs/promises';
import { BuildError, ChildFailed, ExecutorFailed, JobFailed } from '../system/errors.js';
import { run } from '../system/runner.js';
import { sshArgs } from '../vm/ssh.js';
import { guestLogin, ssh } from './guest.js';
import { jobFromEnv, vmName } from './job.js';
import type { ExecutorOptions } from './options.js';
import type { ExecutorIo } from './prepare.js';
import { jobDir, readState } from './state.js';

/** ssh's own failures (no connection, lost connection) exit 255; so may a script. */
const SSH_FAILED = 255;

export async function runStage(options: ExecutorOptions, script: string, stage: string, env: NodeJS.ProcessEnv, io: ExecutorIo): Promise<void> {
  const vm = vmName(jobFromEnv(env));
  const dir = jobDir(options.stateDir, vm);
  const state = await readState(dir);
  if (!state) throw new ExecutorFailed(`no VM is prepared for ${vm} (stage ${stage})`, 'prepare did not run or cleanup already did');
  const l = { connect: state.connect, signal: io.signal };
  const reachable = async () => {
    const login = await guestLogin(state, dir, l);
    await ssh(io.tools, login, 'true', io.signal);
    return login;
  };
  /** What says the VM does not answer: ssh failed, or the wait for its address ran out. */
  const unreachable = (error: unknown) => {
    if (error instanceof BuildError) return false;
    throw error;
  };
  const login = await reachable().catch((e: Error) => {
    throw new ExecutorFailed(`${vm} does not answer on SSH before stage ${stage}: ${e.message.split('\n')[0]}`);
  });
  try {
    await run(sshArgs(login, 'bash'), { tools: io.tools, stdinFile: script, passthrough: true, signal: io.signal, graceMs: 10_000, what: `stage ${stage} in ${vm}` });
  } catch (error) {
    if (!(error instanceof ChildFailed) || error.exitCode === undefined) throw error;
    const code = error.exitCode;
    if (code === SSH_FAILED && !(await reachable().then(() => true, unreachable)))
      throw new ExecutorFailed(`lost ${vm} during stage ${stage} (ssh exited 255 and the VM no longer answers)`);
    if (env.BUILD_EXIT_CODE_FILE) await writeFile(env.BUILD_EXIT_CODE_FILE, `${code}\n`);
    throw new JobFailed(`stage ${stage}: the job's script exited ${code}`, code);
  }
}
