/**
 * Removes everything of one job's VM: the domain (stopped first) with its NVRAM, the overlay
 * volume, and the state directory with the job's key. Every step runs whatever the others did,
 * and whatever prepare left; a second run finds nothing and succeeds.
 */
import { rm, stat } from 'node:fs/promises';
import { ExecutorFailed } from '../system/errors.js';
import { ifBadState, jobDir, readState } from './state.js';
import { domainNames, domainState, virsh, volumeNames, type Libvirt } from '../adapters/virsh.js';
import { ifChildFailed, ifMissing } from '../system/expected.js';

export interface CleanupTarget {
  stateDir: string;
  vm: string;
  /** Used when the job's state is gone (prepare stopped before writing it). */
  connect: string;
  pool: string;
}

export const volumeFor = (vm: string) => `${vm}.qcow2`;

export async function cleanupVm(t: CleanupTarget, signal?: AbortSignal): Promise<string[]> {
  const dir = jobDir(t.stateDir, t.vm);
  // A damaged state file: clean up by the job's name and the options' connection and pool.
  const state = await readState(dir).catch(ifBadState);
  const l: Libvirt = { connect: state?.connect ?? t.connect, signal };
  const pool = state?.pool ?? t.pool;
  const volume = state?.volume ?? volumeFor(t.vm);
  const done: string[] = [];
  const problems: string[] = [];
  const step = async (what: string, f: () => Promise<boolean>) => {
    try {
      if (await f()) done.push(what);
    } catch (error) {
      problems.push(`${what}: ${(error as Error).message.split('\n')[0]}`);
    }
  };
  await step('domain', async () => {
    if (!(await domainNames(l)).includes(t.vm)) return false;
    // It may stop between the question and the destroy: a failed destroy is that, and undefine tells.
    if ((await domainState(l, t.vm).catch(ifChildFailed(''))) !== 'shut off') await virsh(l, ['destroy', t.vm]).catch(ifChildFailed(undefined));
    await virsh(l, ['undefine', t.vm, '--nvram']);
    return true;
  });
  await step('volume', async () => {
    const names = await volumeNames(l, pool).catch(async (error: Error): Promise<string[]> => {
      // No such pool: then there is no volume in it either.
      if (await virsh(l, ['pool-info', pool]).then(() => true, ifChildFailed(false))) throw error;
      return [];
    });
    if (!names.includes(volume)) return false;
    await virsh(l, ['vol-delete', '--pool', pool, volume]);
    return true;
  });
  await step('state', async () => {
    const existed = await stat(dir).then(() => true, ifMissing(false));
    await rm(dir, { recursive: true, force: true });
    return existed;
  });
  if (problems.length > 0) throw new ExecutorFailed(`cleanup of ${t.vm} left something behind: ${problems.join('; ')}`, 'run `boxes executor sweep` once libvirt answers');
  return done;
}
