/** `boxes executor`: GitLab Runner's custom executor stages, one throwaway VM per CI job. */
import type { Command } from 'commander';
import { cleanupVm } from '../executor/cleanup.js';
import { executorConfig } from '../executor/config.js';
import { jobFromEnv, vmName } from '../executor/job.js';
import { executorOptions, type RawExecutorOptions } from '../executor/options.js';
import { prepare } from '../executor/prepare.js';
import { runStage } from '../executor/run-stage.js';
import { sweep } from '../executor/sweep.js';
import { BuildError, ExecutorFailed, InterruptedError, JobFailed, UsageError } from '../system/errors.js';
import { boxesVersion } from '../system/paths.js';
import { interruptible } from './shared.js';
import { openToolbox } from '../image/toolbox.js';

/** The options every `boxes executor` command takes, so a runner can pass one list to all. */
function withExecutorOptions(command: Command): Command {
  return command
    .option('--image <image>', 'the libvirt-executor image: a qcow2 file or POOL/VOLUME')
    .option('--connect <uri>', 'libvirt connection (default: qemu:///system)')
    .option('--network <name>', "a libvirt network, or 'user': QEMU user networking with SSH on 127.0.0.1 (default: user)")
    .option('--pool <name>', 'storage pool for the per-job overlay volumes (default: default)')
    .option('--memory <MiB>', 'memory of each VM (default: 2048)')
    .option('--cpus <n>', 'CPUs of each VM (default: 2)')
    .option('--boot-timeout <minutes>', 'how long prepare waits for SSH (default: 10)')
    .option('--state-dir <dir>', 'per-job keys and state (default: $XDG_STATE_HOME/boxes/executor)');
}

/** Under the custom executor, anything boxes could not do is a system failure, not the job's. */
async function asExecutor(f: (signal: AbortSignal) => Promise<void>): Promise<void> {
  try {
    await interruptible(f);
  } catch (error) {
    if (error instanceof JobFailed || error instanceof ExecutorFailed || error instanceof UsageError || error instanceof InterruptedError) throw error;
    if (error instanceof BuildError) throw new ExecutorFailed(error.message, error.hint, error.logTail);
    throw new ExecutorFailed((error as Error).message);
  }
}

const say = (line: string) => process.stderr.write(`boxes executor: ${line}\n`);

export function registerExecutor(program: Command): void {
  const executor = program.command('executor').description("GitLab Runner's custom executor: one throwaway VM per CI job from the libvirt-executor image");
  withExecutorOptions(executor.command('config').description('print the executor configuration (config_exec)')).action(async () => {
    process.stdout.write(`${JSON.stringify(executorConfig(process.env, await boxesVersion()))}\n`);
  });
  withExecutorOptions(executor.command('prepare').description("boot the job's VM and wait for SSH (prepare_exec)")).action(async (raw: RawExecutorOptions) => {
    const options = await executorOptions(raw);
    await asExecutor(async (signal) => void (await prepare(options, process.env, { tools: await openToolbox({ signal, say }), signal, say })));
  });
  withExecutorOptions(executor.command('run').description("run one stage's script in the job's VM (run_exec)"))
    .argument('<script>', 'the script GitLab Runner wrote for the stage')
    .argument('<stage>', 'the stage name')
    .action(async (script: string, stage: string, raw: RawExecutorOptions) => {
      const options = await executorOptions(raw);
      await asExecutor(async (signal) => runStage(options, script, stage, process.env, { tools: await openToolbox({ signal, say }), signal, say }));
    });
  withExecutorOptions(executor.command('cleanup').description("remove the job's VM, volume and key, whatever state they are in (cleanup_exec)")).action(
    async (raw: RawExecutorOptions) => {
      const options = await executorOptions(raw);
      const vm = vmName(jobFromEnv(process.env));
      await asExecutor(async () => {
        const removed = await cleanupVm({ stateDir: options.stateDir, vm, connect: options.connect, pool: options.pool }, AbortSignal.timeout(300_000));
        say(`${vm}: ${removed.length > 0 ? `removed ${removed.join(', ')}` : 'nothing to remove'}`);
      });
    },
  );
  withExecutorOptions(executor.command('sweep').description('remove VMs, volumes and keys of jobs whose runner died before cleanup'))
    .option('--older-than <hours>', 'only jobs that began this long ago (default: 24)')
    .action(async (raw: RawExecutorOptions) => {
      const options = await executorOptions(raw);
      await asExecutor(async (signal) => {
        const removed = await sweep(options, { signal, say });
        process.stdout.write(removed.length > 0 ? `${removed.join('\n')}\n` : '');
      });
    });
}
